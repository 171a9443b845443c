#!/usr/bin/env python3
"""Authors the .snmprec data files the tests serve with snmpsimd.

Run from this directory: ./generate.py. The output is committed; re-run after editing.
Records are written sorted by OID, as snmpsimd requires.

qbridge.snmprec  a Q-BRIDGE-MIB switch with the quirks of real ones: bridge port != ifIndex
                 (bridge port N is ifIndex 1000+N), FDB id != VLAN id (fdb = 100+vlan), and
                 VLAN 30 present only in dot1qVlanCurrentTable (no static row).
cisco.snmprec    a Cisco switch (CISCO-VTP-MIB, CISCO-VLAN-MEMBERSHIP-MIB); per-VLAN bridge tables in
cisco@N.snmprec  (community string indexing `community@vlan`).
"""

def oid(text):
    return tuple(int(x) for x in text.strip('.').split('.'))

def bitmap(ports, octets):
    data = bytearray(octets)
    for p in ports:
        data[(p - 1) // 8] |= 0x80 >> ((p - 1) % 8)
    return bytes(data).hex()

def vlan_bitmap(vlans, octets=128, base=0):
    data = bytearray(octets)
    for v in vlans:
        v -= base
        if 0 <= v < octets * 8:
            data[v // 8] |= 0x80 >> (v % 8)
    return bytes(data).hex()

def mac_index(mac):
    return '.'.join(str(int(b, 16)) for b in mac.split(':'))

def write(name, records):
    records = sorted(records, key=lambda r: oid(r[0]))
    with open(name, 'w') as f:
        for o, tag, value in records:
            f.write(f"{o}|{tag}|{value}\n")

def system(name, descr, object_id):
    return [
        ('1.3.6.1.2.1.1.1.0', '4', descr),
        ('1.3.6.1.2.1.1.2.0', '6', object_id),
        ('1.3.6.1.2.1.1.3.0', '67', '8640123'),
        ('1.3.6.1.2.1.1.5.0', '4', name),
    ]

def interfaces(ports):
    """ports: list of (ifIndex, name, alias, admin, oper)."""
    r = [('1.3.6.1.2.1.2.1.0', '2', str(len(ports)))]
    for if_index, name, alias, admin, oper in ports:
        r += [
            (f'1.3.6.1.2.1.2.2.1.1.{if_index}', '2', str(if_index)),
            (f'1.3.6.1.2.1.2.2.1.2.{if_index}', '4', name),
            (f'1.3.6.1.2.1.2.2.1.3.{if_index}', '2', '6'),
            (f'1.3.6.1.2.1.2.2.1.5.{if_index}', '66', '1000000000'),
            (f'1.3.6.1.2.1.2.2.1.6.{if_index}', '4x', f'02005e10{if_index >> 8:02x}{if_index & 0xff:02x}'),
            (f'1.3.6.1.2.1.2.2.1.7.{if_index}', '2', str(admin)),
            (f'1.3.6.1.2.1.2.2.1.8.{if_index}', '2', str(oper)),
            (f'1.3.6.1.2.1.2.2.1.10.{if_index}', '65', str(if_index * 7919 % 4294967295)),
            (f'1.3.6.1.2.1.31.1.1.1.1.{if_index}', '4', name),
            (f'1.3.6.1.2.1.31.1.1.1.6.{if_index}', '70', str(18446744073709551000 - if_index)),
            (f'1.3.6.1.2.1.31.1.1.1.18.{if_index}', '4', alias),
        ]
    return r

# ---------------------------------------------------------------- Q-BRIDGE switch
Q = 'qbridge'
q_ports = [  # bridge port, name, alias, admin, oper
    (1, 'ge-0/0/1', 'alpha desk 1', 1, 1),
    (2, 'ge-0/0/2', 'alpha desk 2', 1, 1),
    (3, 'ge-0/0/3', 'bravo desk 1', 1, 1),
    (4, 'ge-0/0/4', 'alpha desk 3', 1, 1),
    (5, 'ge-0/0/5', '', 1, 1),
    (6, 'ge-0/0/6', 'uplink core', 1, 1),
    (7, 'ge-0/0/7', 'bravo spare', 2, 2),
    (8, 'ge-0/0/8', 'alpha trunk', 1, 1),
]
records = system('qbridge-sw1', 'Q-BRIDGE test switch', '1.3.6.1.4.1.99999.1.1')
records += interfaces([(1000 + bp, n, a, ad, op) for bp, n, a, ad, op in q_ports] + [(5000, 'vlan99', 'management', 1, 1)])
for bp, *_ in q_ports:
    records.append((f'1.3.6.1.2.1.17.1.4.1.2.{bp}', '2', str(1000 + bp)))  # dot1dBasePortIfIndex
static = {10: 'alpha', 20: 'bravo', 99: 'mgmt'}
egress = {10: [1, 2, 5, 6, 8], 20: [3, 4, 6, 7, 8], 30: [6], 99: [6]}
untagged = {10: [1, 2, 5], 20: [3, 4, 7], 30: [], 99: [6]}
pvid = {1: 10, 2: 10, 3: 20, 4: 20, 5: 10, 6: 99, 7: 20, 8: 1}
for vlan, name in static.items():
    base = '1.3.6.1.2.1.17.7.1.4.3.1'
    records += [
        (f'{base}.1.{vlan}', '4', name),
        (f'{base}.2.{vlan}', '4x', bitmap(egress[vlan], 2)),
        (f'{base}.3.{vlan}', '4x', bitmap([], 2)),
        (f'{base}.4.{vlan}', '4x', bitmap(untagged[vlan], 2)),
        (f'{base}.5.{vlan}', '2', '1'),
    ]
for vlan in egress:
    base = '1.3.6.1.2.1.17.7.1.4.2.1'
    records += [
        (f'{base}.3.0.{vlan}', '66', str(100 + vlan)),          # dot1qVlanFdbId
        (f'{base}.4.0.{vlan}', '4x', bitmap(egress[vlan], 2)),  # current egress
        (f'{base}.5.0.{vlan}', '4x', bitmap(untagged[vlan], 2)),
        (f'{base}.6.0.{vlan}', '2', '2' if vlan in static else '3'),  # permanent / dynamicGvrp
    ]
for bp, v in pvid.items():
    records.append((f'1.3.6.1.2.1.17.7.1.4.5.1.1.{bp}', '66', str(v)))
fdb = [  # vlan, mac, bridge port
    (10, '00:00:5e:00:53:01', 1),
    (10, '00:00:5e:00:53:02', 5),
    (10, '00:00:5e:00:53:0a', 6),
    (20, '00:00:5e:00:53:03', 3),
    (20, '00:00:5e:00:53:04', 4),
]
for vlan, mac, bp in fdb:
    idx = f'{100 + vlan}.{mac_index(mac)}'
    records += [
        (f'1.3.6.1.2.1.17.7.1.2.2.1.2.{idx}', '2', str(bp)),
        (f'1.3.6.1.2.1.17.7.1.2.2.1.3.{idx}', '2', '3'),
    ]
# Values of every type, for the interoperability walk (a private subtree).
lab = '1.3.6.1.4.1.99999.9'
records += [
    (f'{lab}.1.0', '2', '-42'),
    (f'{lab}.2.0', '4', 'quote " and back\\slash'),
    (f'{lab}.3.0', '4x', '000102030405060708090a0b0c0d0e0f1011121314'),
    (f'{lab}.4.0', '4', ''),
    (f'{lab}.5.0', '6', '1.3.6.1.4.1.99999.1.1'),
    (f'{lab}.6.0', '64', '192.0.2.77'),
    (f'{lab}.7.0', '65', '4294967295'),
    (f'{lab}.8.0', '66', '123456'),
    (f'{lab}.9.0', '67', '987654321'),
    (f'{lab}.10.0', '70', '18446744073709551615'),
    (f'{lab}.11.0', '2', '2147483647'),
    # A record after the subtree, so that a walk of it ends by leaving it rather than at endOfMibView.
    ('1.3.6.1.4.1.99999.10.0', '4', 'end of the typed values'),
]
write(f'{Q}.snmprec', records)

# ---------------------------------------------------------------- Hostile but well-formed variants
# Each is the Q-BRIDGE switch above with a few records changed ('None' removes one). Every value is
# valid BER; what is wrong is what the tables say.
def variant(name, changes):
    table = {o: (t, v) for o, t, v in records}
    for o, tv in changes.items():
        if tv is None:
            table.pop(o, None)
        else:
            table[o] = tv
    write(f'{name}.snmprec', [(o, t, v) for o, (t, v) in table.items()])

BASE_PORT = '1.3.6.1.2.1.17.1.4.1.2'
FDB_PORT = '1.3.6.1.2.1.17.7.1.2.2.1.2'
STATIC = '1.3.6.1.2.1.17.7.1.4.3.1'
CURRENT = '1.3.6.1.2.1.17.7.1.4.2.1'
# Refused: the port model would lie.
variant('qbridge-dup', {f'{BASE_PORT}.5': ('2', '1003')})           # bridge ports 3 and 5 on ifIndex 1003
variant('qbridge-negif', {f'{BASE_PORT}.2': ('2', '-5')})           # a negative ifIndex
variant('qbridge-strif', {f'{BASE_PORT}.2': ('4', '1002')})         # an ifIndex that is a string
variant('qbridge-vlan4095', {f'{STATIC}.1.4095': ('4', 'reserved'), f'{STATIC}.2.4095': ('4x', bitmap([1], 2))})
variant('qbridge-pvid0', {'1.3.6.1.2.1.17.7.1.4.5.1.1.1': ('66', '0')})
variant('qbridge-badmac', {f'{FDB_PORT}.110.0.0.94.0.83.300': ('2', '1')})  # a MAC octet of 300
variant('qbridge-hugeidx', {'1.3.6.1.2.1.31.1.1.1.1.4294967295': ('4', 'ghost')})  # ifIndex beyond 2^31-1
# Tolerated: odd but unambiguous.
variant('qbridge-odd', {
    f'{CURRENT}.4.0.10': ('4x', bitmap([1, 2], 1)),                  # a one-octet egress bitmap
    f'{CURRENT}.5.0.10': ('4x', bitmap([1, 2], 1)),
    f'{CURRENT}.4.0.20': ('4x', bitmap([3, 4, 6, 7, 8, 200], 40)),   # forty octets, a bit for bridge port 200
    f'{CURRENT}.3.0.5000': ('66', '5100'),                            # a VLAN local to the agent (RFC 4363)
    f'{CURRENT}.4.0.5000': ('4x', bitmap([7], 2)),
    f'{CURRENT}.5.0.5000': ('4x', bitmap([], 2)),
    '1.3.6.1.2.1.17.7.1.4.5.1.1.50': ('66', '10'),                    # a PVID for a bridge port that does not exist
    f'{BASE_PORT}.9': ('2', '2147483647'),                            # the largest ifIndex there is
    '1.3.6.1.2.1.2.2.1.2.2147483647': ('4', 'ge-0/0/9'),
    '1.3.6.1.2.1.2.2.1.7.2147483647': ('2', '1'),
    '1.3.6.1.2.1.2.2.1.8.2147483647': ('2', '1'),
    '1.3.6.1.2.1.31.1.1.1.1.2147483647': ('4', ''),                   # no ifName: ifDescr names it
    f'{FDB_PORT}.110.0.0.94.0.83.119': ('2', '77'),                   # a MAC on bridge port 77, which does not exist
    '1.3.6.1.2.1.17.7.1.2.2.1.3.110.0.0.94.0.83.119': ('2', '3'),
    f'{FDB_PORT}.42.0.0.94.0.83.120': ('2', '2'),                     # FDB 42, which no VLAN maps
    '1.3.6.1.2.1.17.7.1.2.2.1.3.42.0.0.94.0.83.120': ('2', '3'),
})
# Ports that egress a VLAN untagged besides their PVID (hybrid ports): they carry that VLAN too.
variant('qbridge-hybrid', {
    f'{CURRENT}.4.0.20': ('4x', bitmap([1, 3, 4, 6, 7, 8], 2)),      # alpha's ge-0/0/1 (PVID 10) untagged in bravo's 20
    f'{CURRENT}.5.0.20': ('4x', bitmap([1, 3, 4, 7], 2)),
    f'{CURRENT}.4.0.99': ('4x', bitmap([2, 6], 2)),                  # alpha's ge-0/0/2 (PVID 10) untagged in management 99
    f'{CURRENT}.5.0.99': ('4x', bitmap([2, 6], 2)),
    f'{CURRENT}.4.0.10': ('4x', bitmap([1, 2, 4, 5, 6, 8], 2)),      # alpha's ge-0/0/4 (PVID bravo's 20) untagged in 10 too
    f'{CURRENT}.5.0.10': ('4x', bitmap([1, 2, 4, 5], 2)),
})

# ---------------------------------------------------------------- Cisco switch
C = 'cisco'
c_ports = [  # ifIndex, name, alias, admin, oper, trunking?, access vlan, native, enabled vlans
    (10101, 'Gi1/0/1', 'alpha desk 1', 1, 1, False, 10, None, None),
    (10102, 'Gi1/0/2', 'alpha desk 2', 1, 1, False, 10, None, None),
    (10103, 'Gi1/0/3', 'bravo desk 1', 1, 1, False, 20, None, None),
    (10104, 'Gi1/0/4', 'alpha desk 3', 1, 1, False, 20, None, None),
    (10105, 'Gi1/0/5', 'uplink core', 1, 1, True, None, 99, [10, 20, 99]),
    (10106, 'Gi1/0/6', 'alpha trunk', 1, 1, True, None, 1, [10, 20]),
]
records = system('cisco-sw2', 'Cisco IOS Software, C2960X Software, test data', '1.3.6.1.4.1.9.1.1208')
records += interfaces([(i, n, a, ad, op) for i, n, a, ad, op, *_ in c_ports])
vtp = {1: 'default', 10: 'alpha', 20: 'bravo', 99: 'mgmt', 1002: 'fddi-default', 1003: 'token-ring-default', 1004: 'fddinet-default', 1005: 'trnet-default'}
for vlan, name in vtp.items():
    records += [
        (f'1.3.6.1.4.1.9.9.46.1.3.1.1.2.1.{vlan}', '2', '1'),  # vtpVlanState operational
        (f'1.3.6.1.4.1.9.9.46.1.3.1.1.3.1.{vlan}', '2', '1'),  # vtpVlanType ethernet
        (f'1.3.6.1.4.1.9.9.46.1.3.1.1.4.1.{vlan}', '4', name),
    ]
for if_index, _, _, _, _, trunk, access, native, enabled in c_ports:
    base = '1.3.6.1.4.1.9.9.46.1.6.1.1'
    records += [
        (f'{base}.4.{if_index}', '4x', vlan_bitmap(enabled or [])),
        (f'{base}.5.{if_index}', '2', str(native or 1)),
        (f'{base}.14.{if_index}', '2', '1' if trunk else '2'),
    ]
    if not trunk:
        records += [
            (f'1.3.6.1.4.1.9.9.68.1.2.2.1.1.{if_index}', '2', '1'),  # vmVlanType static
            (f'1.3.6.1.4.1.9.9.68.1.2.2.1.2.{if_index}', '2', str(access)),
        ]
write(f'{C}.snmprec', records)
cisco_main = list(records)

# Per-VLAN BRIDGE-MIB instances; bridge port numbers differ per VLAN, as on real Catalysts.
per_vlan = {
    10: ({1: 10101, 2: 10102, 3: 10105, 4: 10106}, [('00:00:5e:00:53:11', 1), ('00:00:5e:00:53:1a', 3)]),
    20: ({1: 10103, 2: 10104, 3: 10105, 4: 10106}, [('00:00:5e:00:53:13', 1), ('00:00:5e:00:53:14', 2)]),
    99: ({1: 10105}, []),
    1: ({1: 10106}, []),
}
for vlan, (ports, macs) in per_vlan.items():
    records = []
    for bp, if_index in ports.items():
        records.append((f'1.3.6.1.2.1.17.1.4.1.2.{bp}', '2', str(if_index)))
    for mac, bp in macs:
        records += [
            (f'1.3.6.1.2.1.17.4.3.1.1.{mac_index(mac)}', '4x', mac.replace(':', '')),
            (f'1.3.6.1.2.1.17.4.3.1.2.{mac_index(mac)}', '2', str(bp)),
            (f'1.3.6.1.2.1.17.4.3.1.3.{mac_index(mac)}', '2', '3'),
        ]
    write(f'{C}@{vlan}.snmprec', records)

# Cisco variants (VTP reports no VLAN whose FDB would be read, so no per-VLAN files are needed).
cisco_records = system('cisco-odd', 'Cisco IOS Software, test data', '1.3.6.1.4.1.9.1.1208')
cisco_records += interfaces([(10101, 'Gi1/0/1', '', 1, 1), (10102, 'Gi1/0/2', '', 1, 1), (10103, 'Gi1/0/3', '', 1, 1)])
cisco_records += [
    ('1.3.6.1.4.1.9.9.46.1.3.1.1.2.1.1002', '2', '1'),
    ('1.3.6.1.4.1.9.9.46.1.3.1.1.2.1.1003', '2', '1'),
    ('1.3.6.1.4.1.9.9.46.1.3.1.1.4.1.1002', '4', 'fddi-default'),
    ('1.3.6.1.4.1.9.9.46.1.3.1.1.4.1.1003', '4', 'token-ring-default'),
    # Gi1/0/1: a trunk whose first bitmap has 200 octets; bits past the 128th would be VLANs 1024+.
    ('1.3.6.1.4.1.9.9.46.1.6.1.1.4.10101', '4x', vlan_bitmap([1002, 1003, 1030], octets=200)),
    ('1.3.6.1.4.1.9.9.46.1.6.1.1.5.10101', '2', '1003'),
    ('1.3.6.1.4.1.9.9.46.1.6.1.1.14.10101', '2', '1'),
    # Gi1/0/2: a dynamic access port not yet assigned (vmVlan 0).
    ('1.3.6.1.4.1.9.9.46.1.6.1.1.14.10102', '2', '2'),
    ('1.3.6.1.4.1.9.9.68.1.2.2.1.1.10102', '2', '2'),
    ('1.3.6.1.4.1.9.9.68.1.2.2.1.2.10102', '2', '0'),
]
write('cisco-odd.snmprec', cisco_records)
# Refused: an access port in VLAN 4095.
write('cisco-vlan4095.snmprec', cisco_records + [
    ('1.3.6.1.4.1.9.9.46.1.6.1.1.14.10103', '2', '2'),
    ('1.3.6.1.4.1.9.9.68.1.2.2.1.1.10103', '2', '1'),
    ('1.3.6.1.4.1.9.9.68.1.2.2.1.2.10103', '2', '4095'),
])

# Voice VLANs (vmVoiceVlanId, 1..4094 a VLAN the access port carries tagged; 4095 untagged, 4096 none): alpha's
# Gi1/0/1 with bravo's VLAN 20 as its voice VLAN, alpha's Gi1/0/2 with management VLAN 99; Gi1/0/3 none, Gi1/0/4 dot1p.
VOICE = '1.3.6.1.4.1.9.9.68.1.5.1.1.1'
write('cisco-voice.snmprec', cisco_main + [
    (f'{VOICE}.10101', '2', '20'),
    (f'{VOICE}.10102', '2', '99'),
    (f'{VOICE}.10103', '2', '4096'),
    (f'{VOICE}.10104', '2', '4095'),
])

# ---------------------------------------------------------------- Exception values inside walks
# snmpsimd serves noSuchObject (tag 128), noSuchInstance (129) as values; the file's end is endOfMibView.
write('walk-exceptions.snmprec', [
    ('1.3.6.1.2.1.1.1.0', '4', 'exception values in columns'),
    ('1.3.6.1.2.1.1.3.0', '67', '8640123'),
    ('1.3.6.1.4.1.99999.11.1.1', '2', '1'),
    ('1.3.6.1.4.1.99999.11.1.2', '129', ''),
    ('1.3.6.1.4.1.99999.11.1.3', '2', '3'),
    ('1.3.6.1.4.1.99999.12.1.1', '2', '1'),
    ('1.3.6.1.4.1.99999.12.1.2', '128', ''),
    ('1.3.6.1.4.1.99999.12.1.3', '2', '3'),
    ('1.3.6.1.4.1.99999.13.0', '4', 'last'),
])
