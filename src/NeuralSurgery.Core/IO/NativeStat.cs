using System;
using System.IO;
using System.Runtime.InteropServices;

namespace NeuralSurgery.IO;

/// <summary>
/// A file's kind and identity (device and inode) as the file system reports them, links followed;
/// <paramref name="HasIdentity"/> false where the platform gave none (then paths are compared instead).
/// </summary>
internal readonly record struct FileStat(FileKind Kind, ulong Device, ulong Inode, bool HasIdentity);

/// <summary>
/// stat for paths. .NET has no public API for a file's type (a FIFO looks like an empty regular file) or its inode,
/// so on Linux this calls statx(2), whose struct has one layout on every architecture; elsewhere, and where statx
/// is missing, it falls back to what .NET can tell (folder, file, missing) without an identity.
/// </summary>
internal static class NativeStat
{
    private const int AtFdCwd = -100;
    private const uint StatxType = 0x1;
    private const uint StatxIno = 0x100;
    private const int StatxSize = 256;
    private const int ENOENT = 2;
    private const int ENOTDIR = 20;
    private const int ENOSYS = 38;

    private static volatile bool s_unavailable;

    public static FileStat Stat(string path)
    {
        var full = Path.GetFullPath(path);
        if (!s_unavailable && OperatingSystem.IsLinux())
        {
            var native = TryStatx(full);
            if (native is { } stat)
            {
                return stat;
            }
        }

        var kind = Directory.Exists(full) ? FileKind.Directory : File.Exists(full) ? FileKind.Regular : FileKind.Missing;
        return new FileStat(kind, 0, 0, HasIdentity: false);
    }

    private static FileStat? TryStatx(string fullPath)
    {
        // Native byte order: the kernel fills the struct in the host's.
        var buffer = new byte[StatxSize];
        int result;
        try
        {
            result = Statx(AtFdCwd, fullPath, 0, StatxType | StatxIno, buffer);
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            s_unavailable = true;
            return null;
        }

        if (result != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is ENOENT or ENOTDIR)
            {
                return new FileStat(FileKind.Missing, 0, 0, HasIdentity: false);
            }

            if (errno == ENOSYS)
            {
                s_unavailable = true;
            }

            // EACCES, ELOOP, ...: let the managed fallback (and then the open) report it.
            return null;
        }

        var mask = BitConverter.ToUInt32(buffer, 0);
        if ((mask & StatxType) == 0)
        {
            return null;
        }

        var mode = BitConverter.ToUInt16(buffer, 28);
        var kind = (mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0x1000 => FileKind.Fifo,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            0xC000 => FileKind.Socket,
            _ => FileKind.Other,
        };
        var inode = BitConverter.ToUInt64(buffer, 32);
        var device = ((ulong)BitConverter.ToUInt32(buffer, 136) << 32) | BitConverter.ToUInt32(buffer, 140);
        return new FileStat(kind, device, inode, HasIdentity: (mask & StatxIno) != 0);
    }

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
}
