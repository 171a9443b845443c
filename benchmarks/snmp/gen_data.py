#!/usr/bin/env python3
"""Writes .snmprec data for the SNMP benchmark: a 48-port Q-BRIDGE switch (ifTable, ifXTable,
BRIDGE/Q-BRIDGE tables) with FDB_ENTRIES learned MACs.

usage: gen_data.py OUT_DIR COMMUNITY FDB_ENTRIES [COPIES]
COPIES > 1 writes COMMUNITY001.snmprec ... (one per simulated switch) instead of COMMUNITY.snmprec.
"""
import os, sys

def oid(text):
    return tuple(int(x) for x in text.split('.'))

def bitmap(ports, octets=8):
    data = bytearray(octets)
    for p in ports:
        data[(p - 1) // 8] |= 0x80 >> ((p - 1) % 8)
    return data.hex()

def records(fdb_entries):
    r = [('1.3.6.1.2.1.1.1.0', '4', 'benchmark switch'), ('1.3.6.1.2.1.1.5.0', '4', 'bench')]
    for i in range(1, 49):
        x = 100 + i
        r += [
            (f'1.3.6.1.2.1.2.2.1.1.{x}', '2', str(x)),
            (f'1.3.6.1.2.1.2.2.1.2.{x}', '4', f'GigabitEthernet0/{i}'),
            (f'1.3.6.1.2.1.2.2.1.3.{x}', '2', '6'),
            (f'1.3.6.1.2.1.2.2.1.5.{x}', '66', '1000000000'),
            (f'1.3.6.1.2.1.2.2.1.7.{x}', '2', '1'),
            (f'1.3.6.1.2.1.2.2.1.8.{x}', '2', '1' if i % 5 else '2'),
            (f'1.3.6.1.2.1.2.2.1.10.{x}', '65', str(i * 1000)),
            (f'1.3.6.1.2.1.31.1.1.1.1.{x}', '4', f'ge0/{i}'),
            (f'1.3.6.1.2.1.31.1.1.1.6.{x}', '70', str(i * 100000)),
            (f'1.3.6.1.2.1.31.1.1.1.18.{x}', '4', f'desk {i}'),
            (f'1.3.6.1.2.1.17.1.4.1.2.{i}', '2', str(x)),
            (f'1.3.6.1.2.1.17.7.1.4.5.1.1.{i}', '66', str(10 + (i - 1) // 12 * 10 if i < 48 else 99)),
        ]
    vlans = {10: range(1, 13), 20: range(13, 25), 30: range(25, 37), 40: range(37, 48)}
    for v, ports in vlans.items():
        members = list(ports) + [48]
        r += [
            (f'1.3.6.1.2.1.17.7.1.4.2.1.3.0.{v}', '66', str(v + 1000)),
            (f'1.3.6.1.2.1.17.7.1.4.2.1.4.0.{v}', '4x', bitmap(members)),
            (f'1.3.6.1.2.1.17.7.1.4.2.1.5.0.{v}', '4x', bitmap(ports)),
            (f'1.3.6.1.2.1.17.7.1.4.3.1.1.{v}', '4', f'vlan{v}'),
            (f'1.3.6.1.2.1.17.7.1.4.3.1.2.{v}', '4x', bitmap(members)),
            (f'1.3.6.1.2.1.17.7.1.4.3.1.4.{v}', '4x', bitmap(ports)),
        ]
    for n in range(fdb_entries):
        v = [10, 20, 30, 40][n % 4]
        port = 1 + (n % 47)
        mac = [0x02, 0x00, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff, 0x01]
        idx = f'{v + 1000}.' + '.'.join(str(b) for b in mac)
        r += [(f'1.3.6.1.2.1.17.7.1.2.2.1.2.{idx}', '2', str(port)), (f'1.3.6.1.2.1.17.7.1.2.2.1.3.{idx}', '2', '3')]
    r.sort(key=lambda x: oid(x[0]))
    return ''.join(f'{o}|{t}|{v}\n' for o, t, v in r)

out, community, fdb = sys.argv[1], sys.argv[2], int(sys.argv[3])
copies = int(sys.argv[4]) if len(sys.argv) > 4 else 1
text = records(fdb)
names = [community] if copies == 1 else [f'{community}{i:03d}' for i in range(1, copies + 1)]
for name in names:
    with open(os.path.join(out, name + '.snmprec'), 'w') as f:
        f.write(text)
