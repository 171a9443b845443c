using System.Runtime.InteropServices;

namespace SegmentController.Capture.Sources;

/// <summary>Finds a libpcap export by name in whichever libpcap this machine has.</summary>
internal static class LibPcapExports
{
    private static readonly string[] LibraryNames = ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"];

    /// <summary>The export's address, or <see cref="IntPtr.Zero"/> when no libpcap here has it.</summary>
    public static IntPtr Find(string export)
    {
        foreach (var name in LibraryNames)
        {
            if (NativeLibrary.TryLoad(name, out var library) && NativeLibrary.TryGetExport(library, export, out var address))
            {
                return address;
            }
        }

        return IntPtr.Zero;
    }
}
