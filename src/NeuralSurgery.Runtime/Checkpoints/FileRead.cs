using System;
using Microsoft.Win32.SafeHandles;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>Positioned reads (<see cref="System.IO.RandomAccess"/>): no shared file position, so safe from many threads.</summary>
internal static class FileRead
{
    /// <summary>Reads until full or the end of the file; the bytes read.</summary>
    public static int ReadAtMost(SafeFileHandle handle, Span<byte> destination, long offset)
    {
        var done = 0;
        while (done < destination.Length)
        {
            var n = System.IO.RandomAccess.Read(handle, destination[done..], offset + done);
            if (n == 0)
            {
                break;
            }

            done += n;
        }

        return done;
    }
}
