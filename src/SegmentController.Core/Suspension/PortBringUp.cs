namespace SegmentController.Core.Suspension;

/// <summary>
/// A try, after a restore, to bring up a client's switch ports that the restore's own bring-up did not read
/// back up (the switch did not answer, or answered too late). Reported to the observers; the try that reads
/// them up goes on record with the restore it completes.
/// </summary>
/// <param name="Client">The client whose ports were brought up.</param>
/// <param name="At">When the try ended.</param>
/// <param name="Duration">How long bringing the ports up and reading them back took.</param>
/// <param name="Ports">What the switches read back: verified, or the ports that failed and why.</param>
public sealed record PortBringUp(string Client, DateTimeOffset At, TimeSpan Duration, PortActionResult Ports);
