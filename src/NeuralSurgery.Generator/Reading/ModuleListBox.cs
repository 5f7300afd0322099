using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace NeuralSurgery.Generator.Reading;

/// <summary>
/// One module of a list: the expression that makes it, the scope it is read in, and for a ModuleDict entry added with
/// <c>Add(key, module)</c> the key expression (its state_dict name); null for list items.
/// </summary>
internal readonly record struct ListItem(IOperation Element, ConstScope Scope, IOperation? Key = null);

/// <summary>
/// One module made by constructor code and held by a local (<c>var layer = Linear(w, n);</c>): the expression that
/// makes it and the scope it is read in. Identity is the C# object's: the same instance stored in an array slot and
/// passed to <c>register_module</c> is one module, read once under its registered name.
/// </summary>
internal sealed class ModuleInstance(IOperation element, ConstScope scope)
{
    public IOperation Element { get; } = element;

    public ConstScope Scope { get; } = scope;
}

/// <summary>
/// A lambda passed as a value in constructor code (a block factory, <c>(n, i, p, s) =&gt; new BasicBlock(n, i, p, s)</c>)
/// with the scope it was made in; calling it reads its body with its parameters bound to the call's arguments.
/// </summary>
internal sealed class Closure(IAnonymousFunctionOperation lambda, ConstScope? scope)
{
    public IAnonymousFunctionOperation Lambda { get; } = lambda;

    public ConstScope? Scope { get; } = scope;
}

/// <summary>
/// An array field of modules made with a constant length (<c>layers = new Linear[n]</c>) and filled slot by slot.
/// TorchSharp does not register arrays: what forward reads through them are the modules registered elsewhere.
/// </summary>
internal sealed class ModuleArray(int length, SyntaxNode site)
{
    public ModuleInstance?[] Slots { get; } = new ModuleInstance?[length];

    public SyntaxNode Site { get; } = site;
}

/// <summary>
/// A list of modules that constructor code builds before handing it to Sequential or ModuleList
/// (<c>var modules = new List&lt;(string, Module)&gt;(); for (...) modules.Add((name, Conv2d(...)));</c>): each item is
/// the expression added and the scope it was added in (loop counters and running widths as they were then). The box
/// is shared by reference, as the C# list is, between a local and the helper methods it is passed to.
/// </summary>
internal sealed class ModuleListBox
{
    /// <summary>More modules than any model holds in one list; a hostile loop stops here instead of exhausting memory.</summary>
    public const int MaxItems = 65_536;

    // Append-only storage shared with snapshots, each of which sees its first _count items: a loop of n Adds costs
    // O(n), where copying the list at every Add (the scope each item is read in snapshots the lists) cost O(n²).
    private List<ListItem> _store;
    private int _count;

    public ModuleListBox(ImmutableArray<ListItem> items, string? problem = null, SyntaxNode? problemSite = null)
        : this([.. items], items.Length, problem, problemSite)
    {
    }

    private ModuleListBox(List<ListItem> store, int count, string? problem, SyntaxNode? problemSite)
    {
        _store = store;
        _count = count;
        Problem = problem;
        ProblemSite = problemSite;
    }

    public int Count => _count;

    /// <summary>The items as they are now.</summary>
    public ImmutableArray<ListItem> Items => [.. _store.Take(_count)];

    /// <summary>Why the contents are not known (an Add the reader could not follow), or null.</summary>
    public string? Problem { get; private set; }

    public SyntaxNode? ProblemSite { get; private set; }

    public void Add(IOperation element, ConstScope scope, IOperation? key = null)
    {
        if (_count >= MaxItems)
        {
            Fail($"more than {MaxItems} modules are added to it", element.Syntax);
            return;
        }

        if (_count != _store.Count)
        {
            // A snapshot that grows after its source grew: it gets storage of its own.
            _store = _store.GetRange(0, _count);
        }

        _store.Add(new ListItem(element, scope, key));
        _count++;
    }

    public void Fail(string problem, SyntaxNode site)
    {
        if (Problem is null)
        {
            Problem = problem;
            ProblemSite = site;
        }
    }

    public ModuleListBox Snapshot() => new(_store, _count, Problem, ProblemSite);
}
