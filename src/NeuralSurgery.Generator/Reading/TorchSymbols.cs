using Microsoft.CodeAnalysis;

namespace NeuralSurgery.Generator.Reading;

/// <summary>
/// Recognises TorchSharp by symbol (DESIGN.md section 4): the static classes <c>TorchSharp.torch</c>,
/// <c>torch.nn</c>, <c>torch.nn.functional</c>, the types <c>torch.Tensor</c>, <c>torch.nn.Module</c> and those of
/// <c>TorchSharp.Modules</c>. Matching is by namespace and type names, never by assembly, so the real package and the
/// test fixture are recognised alike; a user type with the same simple name in another namespace is not.
/// </summary>
internal static class TorchSymbols
{
    public const string Namespace = "TorchSharp";
    public const string ModulesNamespace = "TorchSharp.Modules";

    public static bool IsNamespace(INamespaceSymbol? ns, string dotted)
    {
        var parts = dotted.Split('.');
        for (var i = parts.Length - 1; i >= 0; i--)
        {
            if (ns is null || ns.IsGlobalNamespace || ns.Name != parts[i])
            {
                return false;
            }

            ns = ns.ContainingNamespace;
        }

        return ns is not null && ns.IsGlobalNamespace;
    }

    /// <summary>
    /// Whether the type is TorchSharp's own: declared in TorchSharp or TorchSharp.Modules (at any nesting) and not in
    /// the compilation's source. TorchSharp's examples and tests declare their models in <c>namespace TorchSharp</c>;
    /// those are user modules with a forward to read.
    /// </summary>
    public static bool IsTorchSharpType(ITypeSymbol? type)
    {
        while (type?.ContainingType is { } outer)
        {
            type = outer;
        }

        return type is not null
            && type.DeclaringSyntaxReferences.Length == 0
            && (IsNamespace(type.ContainingNamespace, Namespace) || IsNamespace(type.ContainingNamespace, ModulesNamespace));
    }

    /// <summary><c>TorchSharp.torch</c>.</summary>
    public static bool IsTorch(ITypeSymbol? type) =>
        type is INamedTypeSymbol { Name: "torch", ContainingType: null } t && IsNamespace(t.ContainingNamespace, Namespace);

    /// <summary><c>TorchSharp.torch.nn</c>.</summary>
    public static bool IsNn(ITypeSymbol? type) => type is INamedTypeSymbol { Name: "nn" } t && IsTorch(t.ContainingType);

    /// <summary><c>TorchSharp.torch.nn.functional</c>.</summary>
    public static bool IsFunctional(ITypeSymbol? type) => type is INamedTypeSymbol { Name: "functional" } t && IsNn(t.ContainingType);

    /// <summary><c>torch.Tensor</c> or a type derived from it (<c>Parameter</c>).</summary>
    public static bool IsTensor(ITypeSymbol? type)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (t is INamedTypeSymbol { Name: "Tensor" } n && IsTorch(n.ContainingType))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary><c>TorchSharp.Modules.Parameter</c> or derived.</summary>
    public static bool IsParameter(ITypeSymbol? type)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (t.Name == "Parameter" && t.ContainingType is null && IsNamespace(t.ContainingNamespace, ModulesNamespace))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A type derived from (or equal to) the non-generic <c>torch.nn.Module</c>.</summary>
    public static bool IsModule(ITypeSymbol? type)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (t is INamedTypeSymbol { Name: "Module", Arity: 0 } n && IsNn(n.ContainingType))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A module class written by the user (not a TorchSharp type).</summary>
    public static bool IsUserModule(ITypeSymbol? type) => type is INamedTypeSymbol && IsModule(type) && !IsTorchSharpType(type);

    /// <summary><c>torch.TensorIndex</c>.</summary>
    public static bool IsTensorIndex(ITypeSymbol? type) => type is INamedTypeSymbol { Name: "TensorIndex" } t && IsTorch(t.ContainingType);

    /// <summary>A TorchSharp.Modules type with this name (e.g. <c>ModuleList</c>).</summary>
    public static bool IsModulesType(ITypeSymbol? type, string name) =>
        type is INamedTypeSymbol t && t.Name == name && t.ContainingType is null && IsNamespace(t.ContainingNamespace, ModulesNamespace);

    /// <summary>
    /// <c>TorchSharp.Utils.ComponentNameAttribute</c>, where TorchSharp declares it (also accepted in <c>TorchSharp</c>):
    /// it renames a field's state_dict key, so missing it would name every tensor after the field.
    /// </summary>
    public static bool IsComponentNameAttribute(ITypeSymbol? type) =>
        type is INamedTypeSymbol { Name: "ComponentNameAttribute", ContainingType: null } t
        && (IsNamespace(t.ContainingNamespace, Namespace) || IsNamespace(t.ContainingNamespace, Namespace + ".Utils"));

    /// <summary>A size parameter of a tensor factory (torch.zeros(long[] size), zeros(long rows, long columns)): long, int or an array of them.</summary>
    public static bool IsSizeType(ITypeSymbol? type) =>
        type is IArrayTypeSymbol { ElementType.SpecialType: SpecialType.System_Int64 or SpecialType.System_Int32 }
        || type?.SpecialType is SpecialType.System_Int64 or SpecialType.System_Int32;
}
