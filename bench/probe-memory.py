#!/usr/bin/env python3
# Usage: bench/probe-memory.py [SECONDS=180]   (release build; loopback only; stops by itself)
# 300 endpoints probed every 1 s: 100 at a steady HTTP server, 100 at one toggled every 5 s,
# 100 refused; RssAnon every 10 s for DURATION s. Compressed-time check of the soak's growth.
import http.server, json, os, socket, subprocess, sys, tempfile, threading, time, shutil
BIN = os.environ.get("SIGNPOST", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "signpost")); DURATION = int(sys.argv[1]) if len(sys.argv) > 1 else 180
def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
hp = free_port(); w = tempfile.mkdtemp(prefix="wt-load-exp-")
http.server.ThreadingHTTPServer.allow_reuse_address = True
steady = http.server.ThreadingHTTPServer(("127.0.0.1", hp), H); steady.daemon_threads = True
threading.Thread(target=steady.serve_forever, daemon=True).start()
stop = threading.Event()
def flap():
    srv = None
    while not stop.is_set():
        if srv is None:
            srv = http.server.ThreadingHTTPServer(("127.0.0.6", hp), H); srv.daemon_threads = True
            threading.Thread(target=srv.serve_forever, daemon=True).start()
        else:
            srv.shutdown(); srv.server_close(); srv = None
        stop.wait(5)
threading.Thread(target=flap, daemon=True).start()
mon = {"protocol": "HTTP", "port": hp, "path": "/", "intervalInSeconds": 1, "timeoutInSeconds": 1, "toleratedNumberOfFailures": 0}
profiles = []
for i in range(100):
    profiles.append({"name": f"p{i}", "properties": {"trafficRoutingMethod": "Priority", "monitorConfig": mon, "endpoints": [
        {"name": ip.replace(".", "-"), "type": "externalEndpoints", "properties": {"target": f"e{i}-{j}.example.com", "probeTarget": ip, "priority": j + 1}}
        for j, ip in enumerate(["127.0.0.1", "127.0.0.6", "127.0.0.7"])]}})
json.dump({"profiles": profiles}, open(f"{w}/p.json", "w"))
sp = subprocess.Popen([BIN, "serve", "--zone", "tm.test", "--dns-listen", f"127.0.0.1:{free_port()}", "--api-listen", f"127.0.0.1:{free_port()}",
                       "--data-dir", f"{w}/d", "--profiles", f"{w}/p.json", "--probe-resolver", "127.0.0.1:9", "--log-level", "warn"], stderr=open(f"{w}/log", "w"))
try:
    t0 = time.time()
    while time.time() - t0 < DURATION:
        time.sleep(10)
        d = {l.split(":")[0]: l.split()[1] for l in open(f"/proc/{sp.pid}/status") if l.startswith(("RssAnon", "VmRSS", "VmHWM"))}
        print(f"{time.time() - t0:.0f}s", d, "status.json", os.path.getsize(f"{w}/d/status.json") if os.path.exists(f"{w}/d/status.json") else 0, flush=True)
finally:
    stop.set(); sp.terminate(); sp.wait(); shutil.rmtree(w)
