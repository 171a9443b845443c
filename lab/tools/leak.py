#!/usr/bin/env python3
"""Writes the lab's leak as a pcap: one client's agent talking straight to another client's agent.

The frames are what a mis-patched trunk or a forgotten inter-VLAN route puts on the wire: 802.1Q
tagged with the source client's VLAN, from its agent's MAC and address, to an agent of another client
(a TCP connection to the SMB port and a few data segments). lab/demo.sh replays them with tcpreplay
onto the SPAN port, inside the lab's switch namespace.

Usage: leak.py OUT.pcap SRC_MAC SRC_IP DST_MAC DST_IP VLAN
"""
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def ip4(text):
    return bytes(int(part) for part in text.split("."))


def mac(text):
    return bytes(int(part, 16) for part in text.split(":"))


def frame(src_mac, dst_mac, vlan, src_ip, dst_ip, sport, dport, seq, ack, flags, payload):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0) + payload
    pseudo = ip4(src_ip) + ip4(dst_ip) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0x1234, 0x4000, 64, 6, 0, ip4(src_ip), ip4(dst_ip))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return dst_mac + src_mac + struct.pack("!HH", 0x8100, vlan & 0x0FFF) + struct.pack("!H", 0x0800) + header + tcp


def main():
    out, src_mac, src_ip, dst_mac, dst_ip, vlan = sys.argv[1:7]
    s, d, v = mac(src_mac), mac(dst_mac), int(vlan)
    syn, ack_flag, psh_ack = 0x02, 0x10, 0x18
    frames = [
        frame(s, d, v, src_ip, dst_ip, 49152, 445, 1000, 0, syn, b""),
        frame(d, s, v, dst_ip, src_ip, 445, 49152, 5000, 1001, syn | ack_flag, b""),
        frame(s, d, v, src_ip, dst_ip, 49152, 445, 1001, 5001, ack_flag, b""),
    ]
    seq = 1001
    for n in range(5):
        data = (b"customer-export.csv chunk %d " % n).ljust(200, b".")
        frames.append(frame(s, d, v, src_ip, dst_ip, 49152, 445, seq, 5001, psh_ack, data))
        seq += len(data)
    now = time.time()
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for n, data in enumerate(frames):
            t = now + n * 0.001
            f.write(struct.pack("<IIII", int(t), int((t % 1) * 1_000_000), len(data), len(data)))
            f.write(data)


if __name__ == "__main__":
    main()
