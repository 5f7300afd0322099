using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace NeuralSurgery.Generator.Reading;

/// <summary>
/// One module of a list: the expression that makes it, the scope it is read in, and for a ModuleDict entry added with
/// <c>Add(key, module)</c> the key expression (its state_dict name); null for list items.
/// </summary>
internal readonly record struct ListItem(IOperation Element, ConstScope Scope, IOperation? Key = null);

/// <summary>
/// A list of modules that constructor code builds before handing it to Sequential or ModuleList
/// (<c>var modules = new List&lt;(string, Module)&gt;(); for (...) modules.Add((name, Conv2d(...)));</c>): each item is
/// the expression added and the scope it was added in (loop counters and running widths as they were then). The box
/// is shared by reference, as the C# list is, between a local and the helper methods it is passed to.
/// </summary>
internal sealed class ModuleListBox
{
    public ModuleListBox(ImmutableArray<ListItem> items, string? problem = null, SyntaxNode? problemSite = null)
    {
        Items = items;
        Problem = problem;
        ProblemSite = problemSite;
    }

    public ImmutableArray<ListItem> Items { get; private set; }

    /// <summary>Why the contents are not known (an Add the reader could not follow), or null.</summary>
    public string? Problem { get; private set; }

    public SyntaxNode? ProblemSite { get; private set; }

    public void Add(IOperation element, ConstScope scope, IOperation? key = null) => Items = Items.Add(new ListItem(element, scope, key));

    public void Fail(string problem, SyntaxNode site)
    {
        if (Problem is null)
        {
            Problem = problem;
            ProblemSite = site;
        }
    }

    public ModuleListBox Snapshot() => new(Items, Problem, ProblemSite);
}
