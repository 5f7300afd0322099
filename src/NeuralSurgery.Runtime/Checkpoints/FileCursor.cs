using System;
using Microsoft.Win32.SafeHandles;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>
/// Forward reads of small header fields at arbitrary positions of a file through a 16 KiB window, so scanning a
/// TorchSharp checkpoint reads its keys and shapes but skips tensor data. Never reads past <see cref="Length"/>.
/// </summary>
internal sealed class FileCursor
{
    private const int WindowSize = 16 * 1024;

    private readonly SafeFileHandle _handle;
    private readonly byte[] _window = new byte[WindowSize];
    private long _windowStart;
    private int _windowCount;

    public FileCursor(SafeFileHandle handle, long length)
    {
        _handle = handle;
        Length = length;
    }

    public long Length { get; }

    public long Position { get; set; }

    public long Remaining => Length - Position;

    /// <summary>The next byte, or -1 at the end of the file.</summary>
    public int ReadByte()
    {
        if (Position >= Length)
        {
            return -1;
        }

        if ((Position < _windowStart || Position >= _windowStart + _windowCount) && !Fill(Position))
        {
            return -1;
        }

        return _window[(int)(Position++ - _windowStart)];
    }

    /// <summary>Fills <paramref name="destination"/>; false (position unchanged) when the file ends first.</summary>
    public bool TryRead(Span<byte> destination)
    {
        if (destination.Length > Remaining)
        {
            return false;
        }

        var done = 0;
        while (done < destination.Length)
        {
            if ((Position < _windowStart || Position >= _windowStart + _windowCount) && !Fill(Position))
            {
                // The file shrank after its length was taken; the caller reports a truncated file.
                Position -= done;
                return false;
            }

            var offset = (int)(Position - _windowStart);
            var n = Math.Min(_windowCount - offset, destination.Length - done);
            _window.AsSpan(offset, n).CopyTo(destination[done..]);
            done += n;
            Position += n;
        }

        return true;
    }

    private bool Fill(long start)
    {
        var want = (int)Math.Min(WindowSize, Length - start);
        var count = FileRead.ReadAtMost(_handle, _window.AsSpan(0, want), start);
        if (count == 0)
        {
            return false;
        }

        _windowStart = start;
        _windowCount = count;
        return true;
    }
}
