#!/usr/bin/env python3
"""Writes the capture benchmark's input: FRAMES Ethernet frames (IMIX 7:4:1 of 64/576/1500 bytes),
802.1Q-tagged over 64 VLANs of 32 clients, a few thousand flows (agents to the proxy over TLS, DNS to
infrastructure, and a small share of cross-client leaks), and the matching site policy."""
import random
import struct
import sys

frames = int(sys.argv[1])
pcap_path = sys.argv[2]
policy_path = sys.argv[3]
CLIENTS = 32
random.seed(42)

with open(policy_path, "w") as policy:
    policy.write("""site: {id: bench, name: Capture benchmark}
controller:
  management: {listen: ["127.0.0.1:9410"]}
  capture: {interfaces: [], loss_threshold: 0.001, silence: 60s, qinq: false}
infrastructure:
  management_vlans: [99]
  subnets: [10.250.0.0/24]
  proxy_addresses: [10.250.0.5]
switches:
  - name: sw1
    address: 10.250.0.2
    profile: qbridge
    snmp: {version: v3, user: segctl, auth: {protocol: SHA-256, pass: {env: X}}, priv: {protocol: AES, pass: {env: Y}}}
clients:
""")
    for c in range(1, CLIENTS + 1):
        policy.write(f"""  - id: c{c:02d}
    name: Client {c}
    contract_end: 2030-01-01
    segments:
      - name: agents
        vlans: [{100 + 2 * c}, {101 + 2 * c}]
        subnets: [10.{c}.0.0/16]
    upstreams:
      - name: app
        hosts: [app.c{c:02d}.example]
        destinations: ["https://192.0.2.{c}/"]
""")


def ip(a, b, c, d):
    return bytes((a, b, c, d))


def checksum(header):
    s = sum(struct.unpack("!10H", header))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def template(vlan, src, dst, proto, sport, dport):
    """Headers for one flow; the IP total length is patched per size."""
    eth = bytes.fromhex("02000000aa01") + bytes.fromhex("02000000bb01") + struct.pack("!HHH", 0x8100, vlan, 0x0800)
    if proto == 6:
        l4 = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x18, 65535, 0, 0)
    else:
        l4 = struct.pack("!HHHH", sport, dport, 0, 0)
    return eth, src, dst, proto, l4


flows = []
for i in range(4000):
    c = random.randint(1, CLIENTS)
    vlan = 100 + 2 * c + random.randint(0, 1)
    agent = ip(10, c, random.randint(0, 255), random.randint(1, 254))
    kind = random.random()
    if kind < 0.85:
        flows.append(template(vlan, agent, ip(10, 250, 0, 5), 6, random.randint(1024, 65535), 8443))
    elif kind < 0.99:
        flows.append(template(vlan, agent, ip(10, 250, 0, 53), 17, random.randint(1024, 65535), 53))
    else:
        other = c % CLIENTS + 1
        flows.append(template(vlan, agent, ip(10, other, 1, 1), 6, random.randint(1024, 65535), 445))

sizes = [64] * 7 + [576] * 4 + [1500]
TLS_RECORD = bytes((23, 3, 3, 0, 40))
cache = {}


def frame(flow_index, size):
    key = (flow_index, size)
    f = cache.get(key)
    if f is None:
        eth, src, dst, proto, l4 = flows[flow_index]
        payload_len = max(0, size - len(eth) - 20 - len(l4))
        total = 20 + len(l4) + payload_len
        l4b = l4
        if proto == 17:
            l4b = l4[:4] + struct.pack("!H", 8 + payload_len) + l4[6:]
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0x4000, 64, proto, 0, src, dst)
        header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
        payload = (TLS_RECORD + bytes(payload_len))[:payload_len] if proto == 6 else bytes(payload_len)
        f = eth + header + l4b + payload
        cache[key] = f
    return f


with open(pcap_path, "wb") as out:
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    t = 1_772_355_600
    records = []
    for n in range(frames):
        f = frame(random.randrange(len(flows)), random.choice(sizes))
        usec = n % 1_000_000
        records.append(struct.pack("<IIII", t + n // 1_000_000, usec, len(f), len(f)))
        records.append(f)
        if len(records) >= 20000:
            out.write(b"".join(records))
            records.clear()
    out.write(b"".join(records))
