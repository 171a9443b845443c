namespace SegmentController.Snmp.Protocol;

/// <summary>One variable binding: a name and its value.</summary>
internal sealed record VarBind(Oid Oid, SnmpValue Value)
{
    public override string ToString() => $"{Oid} = {Value}";
}
