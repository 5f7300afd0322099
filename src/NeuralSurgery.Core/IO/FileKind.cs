namespace NeuralSurgery.IO;

/// <summary>What a path names once symbolic links are followed.</summary>
public enum FileKind
{
    /// <summary>Nothing exists at the path.</summary>
    Missing,

    /// <summary>A regular file: the only kind the tools read or replace.</summary>
    Regular,

    Directory,

    /// <summary>A named pipe: opening it for reading blocks until a writer appears.</summary>
    Fifo,

    CharacterDevice,

    BlockDevice,

    Socket,

    /// <summary>Something else, or a kind this platform cannot tell.</summary>
    Other,
}
