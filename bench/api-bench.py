#!/usr/bin/env python3
"""API write -> DNS visibility latency, and API read/write throughput, with N profiles stored.

Usage: bench/api-bench.py [profiles=10000] [writes=100]
Starts target/release/signpost (build it first: cargo build --release) on loopback with N
generated profiles applied from a file in one transaction, then:
  - propagation: PUT a profile with a new target, then ask Signpost over UDP every 0.2 ms until
    the answer carries it; the time from the API's acknowledgement to the first such answer;
  - reads: sequential GET /api/v1/profiles/{name} over one keep-alive connection;
  - writes: sequential PUTs (each a new target for one profile), acknowledged = durable.
"""
import http.client, json, os, random, socket, statistics, struct, subprocess, sys, tempfile, time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
WRITES = int(sys.argv[2]) if len(sys.argv) > 2 else 100
BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "signpost")

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def profile(i, target):
    return {"name": f"p{i}", "properties": {"trafficRoutingMethod": "Priority",
            "dnsConfig": {"relativeName": f"p{i}", "ttl": 30},
            "endpoints": [{"name": "a", "type": "externalEndpoints", "properties": {"target": target, "alwaysServe": "Enabled"}},
                          {"name": "b", "type": "externalEndpoints", "properties": {"target": f"p{i}-b.example.com", "alwaysServe": "Enabled"}}]}}

def dns_query(name):
    q = struct.pack(">HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", 1, 1)

def percentile(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

def main():
    work = tempfile.mkdtemp()
    with open(os.path.join(work, "profiles.json"), "w") as f:
        json.dump({"profiles": [profile(i, f"p{i}-a.example.com") for i in range(N)]}, f)
    dns_port, api_port = free_port(), free_port()
    log = open(os.path.join(work, "signpost.log"), "w")
    t0 = time.time()
    proc = subprocess.Popen([BIN, "serve", "--zone", "tm.test", "--dns-listen", f"127.0.0.1:{dns_port}", "--dns-workers", "1",
                             "--api-listen", f"127.0.0.1:{api_port}", "--data-dir", os.path.join(work, "data"),
                             "--profiles", os.path.join(work, "profiles.json"), "--log-level", "warn"], stderr=log)
    try:
        conn = None
        while conn is None:
            try:
                c = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30); c.request("GET", "/healthz"); c.getresponse().read(); conn = c
            except OSError:
                if time.time() - t0 > 300: raise SystemExit("server did not start")
                time.sleep(0.1)
        print(f"profiles stored: {N}; server ready after {time.time() - t0:.1f} s")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sock.settimeout(1)
        lat, put_ms = [], []
        for i in range(WRITES):
            target = f"t{i}.example.com"
            body = json.dumps(profile(0, target))
            s = time.perf_counter()
            conn.request("PUT", "/api/v1/profiles/p0", body, {"Content-Type": "application/json"})
            r = conn.getresponse(); r.read(); assert r.status == 200, r.status
            acked = time.perf_counter(); put_ms.append((acked - s) * 1000)
            want = target.encode()
            while True:
                sock.sendto(dns_query("p0.tm.test"), ("127.0.0.1", dns_port))
                data = sock.recv(4096)
                if b"".join(bytes([len(l)]) + l for l in want.split(b".")) in data:
                    break
                if time.perf_counter() - acked > 10: raise SystemExit("change never became visible")
                time.sleep(0.0002)
            lat.append((time.perf_counter() - acked) * 1000)
        print(f"API write -> DNS visible, {WRITES} writes: p50 {percentile(lat, 50):.1f} ms, p99 {percentile(lat, 99):.1f} ms, max {max(lat):.1f} ms")
        print(f"API PUT (validate whole set + durable commit): p50 {percentile(put_ms, 50):.1f} ms, p99 {percentile(put_ms, 99):.1f} ms -> {1000 / statistics.mean(put_ms):.0f} writes/s sequential")
        reads = 2000; s = time.perf_counter()
        for i in range(reads):
            conn.request("GET", f"/api/v1/profiles/p{random.randrange(N)}"); r = conn.getresponse(); r.read(); assert r.status == 200
        el = time.perf_counter() - s
        print(f"API GET profile: {reads / el:.0f} reads/s sequential on one connection ({el / reads * 1000:.2f} ms each)")
    finally:
        proc.terminate(); proc.wait()

main()
