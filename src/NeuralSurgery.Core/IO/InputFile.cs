using System;
using System.IO;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace NeuralSurgery.IO;

/// <summary>
/// The one way the libraries and the tool open a file they read: only a regular file, checked before it is opened
/// (opening a FIFO for reading blocks until someone writes to it; a device or a folder is not data). Every reader of
/// checkpoints, shards, metadata sidecars, patches, plans, graphs, schemas and model sources goes through here.
/// </summary>
public static class InputFile
{
    /// <summary>The largest file read whole into one array.</summary>
    public static long MaxWholeFile => Array.MaxLength;

    /// <summary>
    /// The largest plan or graph JSON read: a parsed document takes several times its text, and the largest
    /// models' plans are a few MB, so a file past this is a mistake (a checkpoint given as a plan), not a plan.
    /// </summary>
    public const long MaxDocumentBytes = 64L << 20;

    /// <summary>The largest feature schema or model source file read (hand-written text; a real one is KBs).</summary>
    public const long MaxSourceBytes = 16L << 20;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>What <paramref name="path"/> names, symbolic links followed.</summary>
    public static FileKind KindOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return NativeStat.Stat(path).Kind;
    }

    /// <summary>Throws unless <paramref name="path"/> is an existing regular file (after following links).</summary>
    /// <exception cref="FileNotFoundException">Nothing is there.</exception>
    /// <exception cref="IOException">A folder, a FIFO, a device, a socket.</exception>
    public static void EnsureRegular(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var kind = KindOf(path);
        if (kind == FileKind.Missing)
        {
            throw new FileNotFoundException($"{path}: no such file", path);
        }

        if (kind != FileKind.Regular)
        {
            throw new IOException($"{path}: is {Describe(kind)}; expected a regular file");
        }
    }

    /// <summary>A read-only handle (shared with other readers) on a regular file.</summary>
    public static SafeFileHandle OpenHandle(string path)
    {
        EnsureRegular(path);
        return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
    }

    /// <summary>The whole file; refused, naming the file, when longer than <paramref name="maxBytes"/>.</summary>
    public static byte[] ReadAllBytes(string path, long maxBytes, string what = "file")
    {
        using var handle = OpenHandle(path);
        var length = RandomAccess.GetLength(handle);
        var limit = Math.Min(maxBytes, MaxWholeFile);
        if (length > limit)
        {
            throw new IOException(limit == MaxWholeFile
                ? $"{path}: the {what} has {length} bytes, more than the {limit} that can be read into memory"
                : $"{path}: the {what} has {length} bytes, more than the {limit} ({limit >> 20} MiB) a {what} may have; expected a {what} file");
        }

        var bytes = new byte[length];
        var done = 0;
        while (done < bytes.Length)
        {
            var n = RandomAccess.Read(handle, bytes.AsSpan(done), done);
            if (n == 0)
            {
                throw new IOException($"{path}: the {what} shrank while it was read ({done} of {length} bytes)");
            }

            done += n;
        }

        return bytes;
    }

    /// <summary>
    /// The file as strict text: UTF-8, or UTF-16/UTF-32 when a byte order mark says so (as File.ReadAllText reads
    /// them). Invalid bytes are refused with the file and byte offset rather than replaced, since a replaced byte
    /// would rename a tensor or a feature silently.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="what">What the file is, in messages ("plan", "feature schema").</param>
    /// <param name="maxBytes">Refused, naming the file and the cap, before reading when the file is longer.</param>
    public static string ReadAllText(string path, string what, long maxBytes)
    {
        var bytes = ReadAllBytes(path, maxBytes, what);
        var (encoding, start) = bytes switch
        {
            [0xEF, 0xBB, 0xBF, ..] => ((Encoding)StrictUtf8, 3),
            [0xFF, 0xFE, 0x00, 0x00, ..] => (new UTF32Encoding(bigEndian: false, byteOrderMark: false, throwOnInvalidCharacters: true), 4),
            [0x00, 0x00, 0xFE, 0xFF, ..] => (new UTF32Encoding(bigEndian: true, byteOrderMark: false, throwOnInvalidCharacters: true), 4),
            [0xFF, 0xFE, ..] => (new UnicodeEncoding(bigEndian: false, byteOrderMark: false, throwOnInvalidBytes: true), 2),
            [0xFE, 0xFF, ..] => (new UnicodeEncoding(bigEndian: true, byteOrderMark: false, throwOnInvalidBytes: true), 2),
            _ => (StrictUtf8, 0),
        };
        try
        {
            return encoding.GetString(bytes, start, bytes.Length - start);
        }
        catch (DecoderFallbackException ex)
        {
            var at = ex.Index >= 0 ? $" at byte {start + ex.Index}" : string.Empty;
            throw new IOException($"{path}: the {what} is not valid {(encoding is UTF8Encoding ? "UTF-8" : encoding.WebName)}{at}; expected UTF-8 text", ex);
        }
    }

    /// <summary>"a named pipe (FIFO)", "a folder", ... for messages.</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Missing => "missing",
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a folder",
        FileKind.Fifo => "a named pipe (FIFO)",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Socket => "a socket",
        _ => "not a regular file",
    };
}
