#!/usr/bin/env python3
"""Soak: steady DNS load, API writes every second and flapping endpoints, sampled every 10 s.

Usage: bench/soak.py MINUTES OUT.csv   (run through bench/soak.sh, which checks the tools)

Starts target/release/signpost on free loopback ports with its own data dir in a temp dir and a
small profiles file whose endpoints are probed (HTTP, every 1 s) at real HTTP servers on
127.0.0.1-4; two of those servers are stopped and started every 20 s and 30 s, so health flaps.
Meanwhile:
  - dnsperf sends a steady mix at a fixed rate (RATE, default 5000 qps);
  - once a second the API gets a write: a JSON merge PATCH of an endpoint's weight (alternating),
    and every 5th second an endpoint is disabled or enabled instead;
  - every 10 s: VmRSS (and its anonymous and file-backed parts: the binary's code pages count
    too, and are paged in as paths run for the first time), VmHWM, open fds, threads, CPU share since the last sample, p50/p99 of 200
    sequential probe queries (one socket, timed here), dnsperf's qps for the last interval, the
    API writes done and failed, and how many of the flapping endpoints the server sees Online.
Everything stops by itself after MINUTES; every process started here is stopped on exit.
"""
import http.client, http.server, json, os, random, re, shutil, signal, socket, struct, subprocess
import sys, tempfile, threading, time

MINUTES = float(sys.argv[1]) if len(sys.argv) > 1 else 30
OUT = sys.argv[2] if len(sys.argv) > 2 else "soak.csv"
RATE = int(os.environ.get("RATE", "5000"))
BIN = os.environ.get("SIGNPOST", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "signpost"))
STOP = threading.Event()


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


class Flapper:
    """An HTTP server on ip:port that is up for `period` seconds, then down for `period`."""

    def __init__(self, ip, port, period):
        self.ip, self.port, self.period, self.srv, self.flips = ip, port, period, None, 0

    def up(self):
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.srv = http.server.ThreadingHTTPServer((self.ip, self.port), Health)
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def down(self):
        if self.srv:
            self.srv.shutdown(); self.srv.server_close(); self.srv = None

    def run(self):
        self.up()
        while self.period and not STOP.wait(self.period):
            (self.down if self.srv else self.up)(); self.flips += 1
        self.down()


def profiles(port):
    mon = {"protocol": "HTTP", "port": port, "path": "/healthz", "intervalInSeconds": 1,
           "timeoutInSeconds": 1, "toleratedNumberOfFailures": 0}
    def ep(name, target, ip, **kw):
        return {"name": name, "type": "externalEndpoints", "properties": dict(target=target, probeTarget=ip, **kw)}
    return {"profiles": [
        {"name": "web", "properties": {"trafficRoutingMethod": "Weighted", "dnsConfig": {"relativeName": "web", "ttl": 30},
         "monitorConfig": mon, "endpoints": [ep("steady", "steady.example.com", "127.0.0.1", weight=10),
                                             ep("flap20", "flap20.example.com", "127.0.0.2", weight=10),
                                             ep("flap30", "flap30.example.com", "127.0.0.3", weight=10)]}},
        {"name": "fo", "properties": {"trafficRoutingMethod": "Priority", "dnsConfig": {"relativeName": "fo", "ttl": 30},
         "monitorConfig": mon, "endpoints": [ep("first", "first.example.com", "127.0.0.2", priority=1),
                                             ep("second", "second.example.com", "127.0.0.4", priority=2)]}},
        {"name": "multi", "properties": {"trafficRoutingMethod": "MultiValue", "maxReturn": 2, "dnsConfig": {"relativeName": "multi", "ttl": 30},
         "monitorConfig": mon, "endpoints": [ep("m1", "192.0.2.1", "127.0.0.1"), ep("m2", "192.0.2.2", "127.0.0.2"),
                                             ep("m3", "192.0.2.3", "127.0.0.3")]}},
    ]}


def query(name, qtype=1):
    q = struct.pack(">HHHHHH", random.randrange(65536), 0, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", qtype, 1)


def probe_latency(port, n=200):
    """n sequential queries; returns (p50 ms, p99 ms, lost)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5); s.connect(("127.0.0.1", port))
    lat, lost = [], 0
    for i in range(n):
        q = query(("web.tm.test", "fo.tm.test", "multi.tm.test", "tm.test")[i % 4])
        t = time.perf_counter(); s.send(q)
        try:
            while True:
                r = s.recv(4096)
                if r[:2] == q[:2]:
                    break
            lat.append((time.perf_counter() - t) * 1000)
        except socket.timeout:
            lost += 1
    s.close()
    lat.sort()
    pick = lambda p: lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else float("nan")
    return pick(50), pick(99), lost


def proc_status(pid):
    d = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        d[k] = v.split()[0] if v.split() else ""
    return int(d["VmRSS"]), int(d["VmHWM"]), int(d["Threads"]), int(d["RssAnon"]), int(d["RssFile"])


def cpu_ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def api(conn, method, path, body=None):
    conn.request(method, path, json.dumps(body) if body is not None else None, {"Content-Type": "application/json"})
    r = conn.getresponse(); data = r.read(); return r.status, data


class Writer:
    def __init__(self, api_port):
        self.port, self.done, self.failed, self.lat = api_port, 0, 0, []

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10); i = 0
        while not STOP.wait(1.0):
            i += 1
            try:
                t = time.perf_counter()
                if i % 5 == 0:
                    st, _ = api(conn, "PATCH", "/api/v1/profiles/web/externalEndpoints/steady",
                                {"properties": {"endpointStatus": "Disabled" if i % 10 == 0 else "Enabled"}})
                else:
                    st, _ = api(conn, "PATCH", "/api/v1/profiles/web/externalEndpoints/flap20",
                                {"properties": {"weight": 10 + i % 2 * 40}})
                self.lat.append((time.perf_counter() - t) * 1000)
                if st == 200:
                    self.done += 1
                else:
                    self.failed += 1
            except (OSError, http.client.HTTPException):
                self.failed += 1
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)


def online(conn):
    """Endpoints Online in profile web, as the server reports them."""
    st, data = api(conn, "GET", "/api/v1/profiles/web/status")
    if st != 200:
        return -1
    return len(re.findall(r'"endpointMonitorStatus"\s*:\s*"Online"', data.decode()))


def main():
    work = tempfile.mkdtemp(prefix="signpost-soak-")
    procs = []
    def cleanup(*_):
        STOP.set()
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(work, ignore_errors=True)
    signal.signal(signal.SIGTERM, lambda *a: (cleanup(), sys.exit(1)))
    try:
        hport, dport, aport = free_port(), free_port(), free_port()
        with open(f"{work}/profiles.json", "w") as f:
            json.dump(profiles(hport), f)
        flappers = [Flapper("127.0.0.1", hport, 0), Flapper("127.0.0.2", hport, 20),
                    Flapper("127.0.0.3", hport, 30), Flapper("127.0.0.4", hport, 0)]
        for fl in flappers:
            threading.Thread(target=fl.run, daemon=True).start()
        log = open(f"{work}/signpost.log", "w")
        sp = subprocess.Popen([BIN, "serve", "--zone", "tm.test", "--dns-listen", f"127.0.0.1:{dport}",
                               "--api-listen", f"127.0.0.1:{aport}", "--data-dir", f"{work}/data",
                               "--profiles", f"{work}/profiles.json", "--probe-resolver", "127.0.0.1:9"],
                              stdout=log, stderr=subprocess.STDOUT)
        procs.append(sp)
        t0 = time.time()
        conn = None
        while conn is None:
            try:
                c = http.client.HTTPConnection("127.0.0.1", aport, timeout=10); api(c, "GET", "/healthz"); conn = c
            except OSError:
                if time.time() - t0 > 60 or sp.poll() is not None:
                    raise SystemExit("signpost did not start")
                time.sleep(0.1)
        with open(f"{work}/queries", "w") as f:
            f.write("web.tm.test A\n" * 5 + "fo.tm.test A\nmulti.tm.test A\nmulti.tm.test AAAA\nnothere.tm.test A\ntm.test SOA\n")
        secs = int(MINUTES * 60)
        dp = subprocess.Popen(["stdbuf", "-oL", "dnsperf", "-s", "127.0.0.1", "-p", str(dport), "-d", f"{work}/queries", "-l", str(secs),
                               "-Q", str(RATE), "-c", "4", "-S", "10"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(dp)
        qps = {"last": float("nan")}
        def read_dnsperf():
            for line in dp.stdout:
                m = re.match(r"\s*\d+\.\d+: ([\d.]+)", line)
                if m:
                    qps["last"] = float(m.group(1))
                elif line.strip():
                    qps.setdefault("tail", []).append(line.rstrip())
        threading.Thread(target=read_dnsperf, daemon=True).start()
        w = Writer(aport); threading.Thread(target=w.run, daemon=True).start()
        hz = os.sysconf("SC_CLK_TCK")
        out = open(OUT, "w")
        out.write("elapsed_s,rss_kib,rss_anon_kib,rss_file_kib,hwm_kib,fds,threads,cpu_share,p50_ms,p99_ms,probe_lost,dnsperf_qps,api_writes_ok,api_writes_failed,api_write_p99_ms,web_online,flips\n")
        c_prev, t_prev, start = cpu_ticks(sp.pid), time.time(), time.time()
        end = start + secs
        while time.time() < end and sp.poll() is None:
            STOP.wait(min(10, max(0, end - time.time())))
            now = time.time()
            rss, hwm, thr, anon, file_ = proc_status(sp.pid)
            fds = len(os.listdir(f"/proc/{sp.pid}/fd"))
            c = cpu_ticks(sp.pid); cpu = (c - c_prev) / hz / (now - t_prev); c_prev, t_prev = c, now
            p50, p99, lost = probe_latency(dport)
            wl = sorted(w.lat); w.lat = []
            wp99 = wl[min(len(wl) - 1, int(0.99 * len(wl)))] if wl else float("nan")
            try:
                on = online(conn)
            except (OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", aport, timeout=10); on = -1
            row = f"{now - start:.0f},{rss},{anon},{file_},{hwm},{fds},{thr},{cpu:.3f},{p50:.3f},{p99:.3f},{lost},{qps['last']:.0f},{w.done},{w.failed},{wp99:.1f},{on},{sum(f.flips for f in flappers)}"
            out.write(row + "\n"); out.flush(); print(row, flush=True)
        alive = sp.poll() is None
        STOP.set()
        try:
            dp.wait(30)
        except subprocess.TimeoutExpired:
            pass
        print("signpost alive at the end:", alive)
        print("dnsperf summary:", *[l for l in qps.get("tail", []) if re.search(r"Queries (sent|completed|lost)|Queries per second|Average Latency", l)], sep="\n  ")
        logtext = open(f"{work}/signpost.log").read()
        print("log lines:", logtext.count("\n"), "| panics:", len(re.findall(r"panic", logtext, re.I)),
              "| ERROR lines:", len(re.findall(r"\bERROR\b", logtext)), "| health transitions logged:", logtext.count("endpoint status changed"))
        for l in [l for l in logtext.splitlines() if re.search(r"panic|ERROR", l, re.I)][:5]:
            print("  ", l)
        if not alive:
            sys.exit(1)
    finally:
        cleanup()


if __name__ == "__main__":
    main()
