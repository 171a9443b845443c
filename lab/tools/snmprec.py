#!/usr/bin/env python3
"""Writes the lab switch's BRIDGE-MIB / Q-BRIDGE-MIB tables as an snmpsim .snmprec file.

snmpd (real IF-MIB, real ifAdminStatus) proxies the .1.3.6.1.2.1.17 subtree to snmpsimd serving this
file, so the controller sees one agent. The tables describe the topology the lab really built: one
VLAN per client bridge, its access ports untagged, the management VLAN on the trunk, and the station
MACs the ports really have behind them.

Input (stdin, JSON): {"ports": [{"bridge_port": 1, "if_index": 5, "name": "swp1", "vlan": 110}],
                      "vlans": {"110": "assistring"}, "fdb": [{"vlan": 110, "mac": "02:..", "bridge_port": 1}]}
Output: the .snmprec lines, sorted by OID as snmpsim requires.
"""
import json
import sys

BITMAP_OCTETS = 4  # bridge ports 1-32


def bitmap(ports):
    octets = bytearray(BITMAP_OCTETS)
    for port in ports:
        octets[(port - 1) // 8] |= 0x80 >> ((port - 1) % 8)
    return octets.hex()


def main():
    site = json.load(sys.stdin)
    rows = []

    def add(oid, kind, value):
        rows.append((tuple(int(p) for p in oid.split(".")), kind, value))

    ports = site["ports"]
    add("1.3.6.1.2.1.17.1.1.0", "4x", "029900000001")  # dot1dBaseBridgeAddress
    add("1.3.6.1.2.1.17.1.2.0", "2", str(len(ports)))  # dot1dBaseNumPorts
    add("1.3.6.1.2.1.17.1.3.0", "2", "2")  # dot1dBaseType: transparent-only
    for p in ports:
        add(f"1.3.6.1.2.1.17.1.4.1.1.{p['bridge_port']}", "2", str(p["bridge_port"]))
        add(f"1.3.6.1.2.1.17.1.4.1.2.{p['bridge_port']}", "2", str(p["if_index"]))
        add(f"1.3.6.1.2.1.17.7.1.4.5.1.1.{p['bridge_port']}", "66", str(p["vlan"]))  # dot1qPvid

    for vlan_text, name in site["vlans"].items():
        vlan = int(vlan_text)
        members = [p["bridge_port"] for p in ports if p["vlan"] == vlan]
        egress = bitmap(members)
        add(f"1.3.6.1.2.1.17.7.1.4.2.1.3.0.{vlan}", "66", str(vlan))  # dot1qVlanFdbId
        add(f"1.3.6.1.2.1.17.7.1.4.2.1.4.0.{vlan}", "4x", egress)  # current egress
        add(f"1.3.6.1.2.1.17.7.1.4.2.1.5.0.{vlan}", "4x", egress)  # current untagged
        add(f"1.3.6.1.2.1.17.7.1.4.2.1.6.0.{vlan}", "2", "2")  # permanent
        add(f"1.3.6.1.2.1.17.7.1.4.3.1.1.{vlan}", "4", name)
        add(f"1.3.6.1.2.1.17.7.1.4.3.1.2.{vlan}", "4x", egress)
        add(f"1.3.6.1.2.1.17.7.1.4.3.1.3.{vlan}", "4x", bitmap([]))
        add(f"1.3.6.1.2.1.17.7.1.4.3.1.4.{vlan}", "4x", egress)
        add(f"1.3.6.1.2.1.17.7.1.4.3.1.5.{vlan}", "2", "1")

    for entry in site["fdb"]:
        mac = ".".join(str(int(b, 16)) for b in entry["mac"].split(":"))
        add(f"1.3.6.1.2.1.17.7.1.2.2.1.2.{entry['vlan']}.{mac}", "2", str(entry["bridge_port"]))
        add(f"1.3.6.1.2.1.17.7.1.2.2.1.3.{entry['vlan']}.{mac}", "2", "3")  # learned

    for oid, kind, value in sorted(rows):
        print(f"{'.'.join(map(str, oid))}|{kind}|{value}")


if __name__ == "__main__":
    main()
