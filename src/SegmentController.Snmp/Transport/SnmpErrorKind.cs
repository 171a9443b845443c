namespace SegmentController.Snmp.Transport;

/// <summary>Why an SNMP exchange failed; the CLI maps every kind to exit code 2.</summary>
internal enum SnmpErrorKind
{
    /// <summary>No valid answer within timeout × retries (agent down, filtered, or v2c community rejected).</summary>
    Timeout,

    /// <summary>The host answered with ICMP port unreachable.</summary>
    Refused,

    /// <summary>usmStatsUnknownUserNames.</summary>
    UnknownUser,

    /// <summary>usmStatsWrongDigests: wrong authentication pass phrase or protocol.</summary>
    WrongDigest,

    /// <summary>usmStatsDecryptionErrors: wrong privacy pass phrase or protocol.</summary>
    DecryptionError,

    /// <summary>usmStatsUnsupportedSecLevels.</summary>
    UnsupportedSecurityLevel,

    /// <summary>usmStatsUnknownEngineIDs after rediscovery.</summary>
    UnknownEngineId,

    /// <summary>usmStatsNotInTimeWindows after resynchronisation.</summary>
    NotInTimeWindow,

    /// <summary>snmpUnknownContexts or snmpUnavailableContexts.</summary>
    UnknownContext,

    /// <summary>Some other Report PDU.</summary>
    Report,

    /// <summary>The agent answered with a non-zero error-status.</summary>
    ErrorStatus,

    /// <summary>The agent's answers break the protocol (e.g. a walk whose OIDs do not increase).</summary>
    Protocol,

    /// <summary>
    /// Well-formed answers whose tables contradict each other or name impossible values (two bridge ports on
    /// one ifIndex, a VLAN id outside 1–4094): the switch's port model cannot be trusted.
    /// </summary>
    InconsistentData,

    /// <summary>Bad credentials or target given by the caller.</summary>
    Configuration,
}
