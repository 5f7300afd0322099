using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace NeuralSurgery.Generator.Reading;

/// <summary>
/// What a symbol (a constructor parameter, a readonly field of a module instance, a member of a config object or a
/// static field) is bound to while reading: a constant, or "not constant" with where that was decided and why, so a
/// size that depends on it is reported there with a way to bind it.
/// </summary>
internal sealed class ConstBinding
{
    private ConstBinding(bool isConstant, object? value, SyntaxNode? site, string? argument, string? callee, string? reason, UnboundOrigin? origin, bool reported)
    {
        IsConstant = isConstant;
        Value = value;
        Site = site;
        Argument = argument;
        Callee = callee;
        Reason = reason;
        Origin = origin;
        Reported = reported;
    }

    public bool IsConstant { get; }

    /// <summary>long, double, bool, string, long[], a <see cref="ConfigObject"/> or null.</summary>
    public object? Value { get; }

    /// <summary>The argument that made it non-constant (e.g. <c>hidden</c> in <c>new Block(hidden)</c>), or null.</summary>
    public SyntaxNode? Site { get; }

    public string? Argument { get; }

    public string? Callee { get; }

    /// <summary>Why it is not constant and how it could be bound (the tail of NS1003), or null for the generic rule.</summary>
    public string? Reason { get; }

    /// <summary>For a parameter of the model's constructor that nothing binds: which one, so a member read off it names itself.</summary>
    public UnboundOrigin? Origin { get; }

    /// <summary>An error was already reported for it (a schema argument of the wrong type): uses fail silently.</summary>
    public bool Reported { get; }

    public static ConstBinding Of(object? value) => new(true, value, null, null, null, null, null, false);

    /// <summary>Not constant; a use reports NS1003 at the use, unless <paramref name="site"/> names where it came from.</summary>
    public static ConstBinding NonConstant(SyntaxNode? site = null, string? argument = null, string? callee = null, string? reason = null, UnboundOrigin? origin = null, bool reported = false) =>
        new(false, null, site, argument, callee, reason, origin, reported);

    /// <summary>An unbound parameter of the model's constructor (or a member path under one).</summary>
    public static ConstBinding Unbound(UnboundOrigin origin) => NonConstant(reason: origin.Reason(), origin: origin);

    /// <summary>Not constant because an error about it was reported already.</summary>
    public static ConstBinding AlreadyReported() => NonConstant(reported: true);

    /// <summary>This binding, carried into a nested module's parameter at <paramref name="site"/> (keeps its reason and origin).</summary>
    public ConstBinding EnteringAt(SyntaxNode? site, string argument, string callee) =>
        Site is not null ? this : NonConstant(site, argument, callee, Reason, Origin, Reported);
}

/// <summary>
/// A parameter of the model class's constructor that no schema argument and no default value binds, or a member path
/// under one (<c>config.n_embd</c>): the NS1003 it causes says which ways would bind it.
/// </summary>
internal sealed class UnboundOrigin
{
    public UnboundOrigin(string parameter, IReadOnlyList<string> members, string constructor, string schema, bool given)
    {
        Parameter = parameter;
        Members = members;
        Constructor = constructor;
        Schema = schema;
        Given = given;
    }

    public string Parameter { get; }

    /// <summary>Member names below the parameter, outermost first; empty for the parameter itself.</summary>
    public IReadOnlyList<string> Members { get; }

    /// <summary>The model class whose constructor declares the parameter.</summary>
    public string Constructor { get; }

    /// <summary>The schema file, or "the feature schema (none was given)".</summary>
    public string Schema { get; }

    /// <summary>Whether the schema gives the parameter (as a mapping that leaves this member out).</summary>
    public bool Given { get; }

    public UnboundOrigin Member(string name) => new(Parameter, Members.Concat(new[] { name }).ToList(), Constructor, Schema, Given);

    public string Reason()
    {
        if (Members.Count == 0)
        {
            return $"it is parameter '{Parameter}' of the {Constructor} constructor, which nothing binds: give the parameter a default value, "
                + $"bind it with 'arguments: {{ {Parameter}: ... }}' in {Schema}, or use a constant";
        }

        var yaml = "...";
        for (var i = Members.Count - 1; i >= 0; i--)
        {
            yaml = "{ " + Members[i] + ": " + yaml + " }";
        }

        var member = $"it is member '{string.Join(".", Members)}' of parameter '{Parameter}' of the {Constructor} constructor";
        return Given
            ? $"{member}, which has no initialiser and no value in the schema: bind it with 'arguments: {{ {Parameter}: {yaml} }}' in {Schema}, give the member a constant initialiser, or use a constant"
            : $"{member}, which nothing binds: bind the parameter with 'arguments: {{ {Parameter}: {yaml} }}' in {Schema} (members the mapping leaves out keep their initialisers), or use a constant";
    }
}

/// <summary>The constructor parameters and readonly fields of one module instance (or the members of a config object).</summary>
internal sealed class ConstScope
{
    private readonly Dictionary<ISymbol, ConstBinding> _bindings;

    public ConstScope(SizeContext? context = null)
        : this(new Dictionary<ISymbol, ConstBinding>(SymbolEqualityComparer.Default), context)
    {
    }

    private ConstScope(Dictionary<ISymbol, ConstBinding> bindings, SizeContext? context)
    {
        _bindings = bindings;
        Context = context;
    }

    /// <summary>Static members, config objects and getters are evaluated through it; null where none is needed.</summary>
    public SizeContext? Context { get; }

    public void Set(ISymbol symbol, ConstBinding binding) => _bindings[symbol] = binding;

    public ConstBinding? Get(ISymbol symbol) => _bindings.TryGetValue(symbol, out var b) ? b : null;

    /// <summary>A copy; module lists in it are copied as they are now (Sequential(list) copies the list it is given).</summary>
    public ConstScope Clone()
    {
        var copy = new Dictionary<ISymbol, ConstBinding>(_bindings.Count, SymbolEqualityComparer.Default);
        foreach (var entry in _bindings)
        {
            copy[entry.Key] = entry.Value.Value is ModuleListBox list ? ConstBinding.Of(list.Snapshot()) : entry.Value;
        }

        return new ConstScope(copy, Context);
    }
}

/// <summary>A dictionary of constants (a table of layer plans keyed by variant name).</summary>
internal sealed class ConstMap
{
    public ConstMap(Dictionary<object, object?> values) => Values = values;

    public Dictionary<object, object?> Values { get; }
}

/// <summary>A constant, or why an operation is not one.</summary>
internal readonly struct ConstResult
{
    private ConstResult(bool ok, object? value, ConstBinding? binding)
    {
        IsConstant = ok;
        Value = value;
        FailedBinding = binding;
    }

    public bool IsConstant { get; }

    public object? Value { get; }

    /// <summary>When not constant because of a bound symbol: that binding (its site may be elsewhere).</summary>
    public ConstBinding? FailedBinding { get; }

    public static ConstResult Of(object? value) => new(true, value, null);

    public static ConstResult Fail(ConstBinding? binding = null) => new(false, null, binding);
}

/// <summary>
/// Compile-time constants (DESIGN.md section 4): literals, const fields and locals and arithmetic of them, which
/// Roslyn folds; plus symbols bound in a <see cref="ConstScope"/> (constructor parameters of a nested module
/// created with constant arguments or of the model bound by the schema or defaults, readonly fields assigned
/// constants), static fields and properties with constant initialisers that nothing else assigns, and members of
/// config objects (<see cref="ConfigObject"/>). Values are normalised to long, double, bool, string, long[], a
/// <see cref="ConfigObject"/> or null.
/// </summary>
internal static class ConstantEvaluator
{
    public static ConstResult Evaluate(IOperation operation, ConstScope? scope)
    {
        if (operation.ConstantValue.HasValue)
        {
            return ConstResult.Of(Normalize(operation.ConstantValue.Value));
        }

        switch (operation)
        {
            case IConversionOperation conversion:
            {
                var inner = Evaluate(conversion.Operand, scope);
                return inner.IsConstant ? ConstResult.Of(Convert(inner.Value, conversion.Type)) : inner;
            }

            case IParameterReferenceOperation p:
                return FromBinding(scope?.Get(p.Parameter));

            // A lambda handed to a constructor (a block factory): a value that module reading can call.
            case IDelegateCreationOperation { Target: IAnonymousFunctionOperation lambda }:
                return ConstResult.Of(new Closure(lambda, scope?.Clone()));

            // Locals of constructor code the module reader runs (loop counters, running widths, plans).
            case ILocalReferenceOperation l:
                return FromBinding(scope?.Get(l.Local));

            case IArrayElementReferenceOperation { Indices.Length: 1 } element:
            {
                var array = Evaluate(element.ArrayReference, scope);
                if (!array.IsConstant)
                {
                    return array;
                }

                // a[^1] counts from the end.
                var fromEnd = element.Indices[0] is IUnaryOperation { OperatorKind: UnaryOperatorKind.Hat };
                var index = Evaluate(fromEnd ? ((IUnaryOperation)element.Indices[0]).Operand : element.Indices[0], scope);
                if (!index.IsConstant)
                {
                    return index;
                }

                return array.Value is long[] values && TryLong(index.Value, out var i) && (fromEnd ? values.Length - i : i) is var at && at >= 0 && at < values.Length
                    ? ConstResult.Of(values[at])
                    : ConstResult.Fail();
            }

            case IPropertyReferenceOperation { Property.Name: "Length" or "Count", Instance: { } instance } p when !p.Property.IsIndexer && Evaluate(instance, scope) is { IsConstant: true, Value: long[] or ModuleListBox } counted:
                return ConstResult.Of(counted.Value is long[] a ? a.Length : (long)((ModuleListBox)counted.Value!).Count);

            case IFieldReferenceOperation f when f.Field.IsStatic:
                return FromBinding(scope?.Context?.StaticMember(f.Field));

            case IFieldReferenceOperation f when f.Instance is IInstanceReferenceOperation:
                return FromBinding(scope?.Get(f.Field));

            case IFieldReferenceOperation f when f.Instance is not null:
                return Member(f.Instance, f.Field, scope);

            // plans["vgg11"]: a readonly dictionary of constants indexed by a constant key.
            case IPropertyReferenceOperation { Property.IsIndexer: true, Instance: { } map, Arguments.Length: 1 } p
                when Evaluate(map, scope) is { IsConstant: true, Value: ConstMap table } && Evaluate(p.Arguments[0].Value, scope) is { IsConstant: true } key:
                return key.Value is not null && table.Values.TryGetValue(key.Value, out var found) ? ConstResult.Of(found) : ConstResult.Fail();

            // counts[0] on an IList<int> bound to a constant array: the element.
            case IPropertyReferenceOperation { Property.IsIndexer: true, Instance: { } list, Arguments.Length: 1 } p
                when Evaluate(list, scope) is { IsConstant: true, Value: long[] values } && Evaluate(p.Arguments[0].Value, scope) is { IsConstant: true, Value: long index }:
                return index >= 0 && index < values.Length ? ConstResult.Of(values[index]) : ConstResult.Fail();

            case IPropertyReferenceOperation p when p.Property.IsIndexer:
                return ConstResult.Fail();

            case IObjectCreationOperation { Type.Name: "Dictionary", Initializer: { } entries } when entries.Initializers.All(e => e is IInvocationOperation { Arguments.Length: 2 }):
            {
                var values = new Dictionary<object, object?>();
                foreach (IInvocationOperation add in entries.Initializers)
                {
                    var key = Evaluate(add.Arguments[0].Value, scope);
                    var value = Evaluate(add.Arguments[1].Value, scope);
                    if (!key.IsConstant || key.Value is null || !value.IsConstant)
                    {
                        return ConstResult.Fail();
                    }

                    values[key.Value] = value.Value;
                }

                return ConstResult.Of(new ConstMap(values));
            }

            // name.ToLower() and the like on a bound string (a variant picked by name).
            case IInvocationOperation { TargetMethod.Name: "ToLower" or "ToLowerInvariant" or "ToUpper" or "ToUpperInvariant" or "Trim", Arguments.Length: 0, Instance: { } text }
                when Evaluate(text, scope) is { IsConstant: true, Value: string s }:
                return ConstResult.Of(((IInvocationOperation)operation).TargetMethod.Name switch
                {
                    "ToLower" or "ToLowerInvariant" => s.ToLowerInvariant(),
                    "ToUpper" or "ToUpperInvariant" => s.ToUpperInvariant(),
                    _ => s.Trim(),
                });

            case IPropertyReferenceOperation p when p.Property.IsStatic:
                return FromBinding(scope?.Context?.StaticMember(p.Property));

            case IPropertyReferenceOperation p when p.Instance is IInstanceReferenceOperation:
                return FromBinding(scope?.Get(p.Property) ?? scope?.Context?.Getter(p.Property, scope));

            case IPropertyReferenceOperation p when p.Instance is not null:
                return Member(p.Instance, p.Property, scope);

            case IObjectCreationOperation creation when scope?.Context is { } context && SizeContext.IsConfigType(creation.Type):
                return FromBinding(context.Construct(creation, scope));

            case IDefaultValueOperation:
                return ConstResult.Of(null);

            // $"conv-{i}": names of modules added in a loop.
            case IInterpolatedStringOperation interpolated:
            {
                var text = new System.Text.StringBuilder();
                foreach (var part in interpolated.Parts)
                {
                    switch (part)
                    {
                        case IInterpolatedStringTextOperation literal:
                            text.Append(literal.Text.ConstantValue.Value as string);
                            break;
                        case IInterpolationOperation { Alignment: null, FormatString: null } hole when Evaluate(hole.Expression, scope) is { IsConstant: true } v && v.Value is long or string or bool:
                            text.Append(v.Value is bool b ? (b ? "True" : "False") : System.Convert.ToString(v.Value, System.Globalization.CultureInfo.InvariantCulture));
                            break;
                        default:
                            return ConstResult.Fail();
                    }
                }

                return ConstResult.Of(text.ToString());
            }

            // wide ? 8 : 4 on a bound condition: the branch C# would take.
            case IConditionalOperation { WhenFalse: { } otherwise } choice:
            {
                var condition = Evaluate(choice.Condition, scope);
                return condition.IsConstant && condition.Value is bool taken ? Evaluate(taken ? choice.WhenTrue : otherwise, scope) : condition.IsConstant ? ConstResult.Fail() : condition;
            }

            case IUnaryOperation u:
            {
                var inner = Evaluate(u.Operand, scope);
                if (!inner.IsConstant)
                {
                    return inner;
                }

                return u.OperatorKind switch
                {
                    UnaryOperatorKind.Minus when inner.Value is long l => ConstResult.Of(-l),
                    UnaryOperatorKind.Minus when inner.Value is double d => ConstResult.Of(-d),
                    UnaryOperatorKind.Plus when inner.Value is long or double => inner,
                    UnaryOperatorKind.Not when inner.Value is bool b => ConstResult.Of(!b),
                    _ => ConstResult.Fail(),
                };
            }

            case IBinaryOperation b:
            {
                var left = Evaluate(b.LeftOperand, scope);
                if (!left.IsConstant)
                {
                    return left;
                }

                // C#'s short circuit: 'device != null && device.type != CPU' is false without reading device.type.
                if (left.Value is bool decided
                    && ((b.OperatorKind == BinaryOperatorKind.ConditionalAnd && !decided) || (b.OperatorKind == BinaryOperatorKind.ConditionalOr && decided)))
                {
                    return ConstResult.Of(decided);
                }

                var right = Evaluate(b.RightOperand, scope);
                return right.IsConstant ? Arithmetic(b.OperatorKind, left.Value, right.Value) : right;
            }

            case IArrayCreationOperation { Initializer: { } init }:
                return Array(init.ElementValues, scope);

            // (3, 3) for a 2-D kernel, stride or padding: the same as an array of its values.
            case ITupleOperation tuple:
                return Array(tuple.Elements, scope);

            case ICollectionExpressionOperation collection:
                return Array(collection.Elements, scope);

            default:
                return ConstResult.Fail();
        }
    }

    public static bool TryLong(object? value, out long result)
    {
        switch (value)
        {
            case long l:
                result = l;
                return true;
            default:
                result = 0;
                return false;
        }
    }

    public static bool TryDouble(object? value, out double result)
    {
        switch (value)
        {
            case long l:
                result = l;
                return true;
            case double d:
                result = d;
                return true;
            default:
                result = 0;
                return false;
        }
    }

    public static object? Normalize(object? value) => value switch
    {
        null => null,
        bool b => b,
        string s => s,
        double d => d,
        float f => (double)f,
        decimal m => (double)m,
        char c => (long)c,
        ulong u => u <= long.MaxValue ? (long)u : (double)u,
        IConvertible c when IsIntegral(c) => c.ToInt64(System.Globalization.CultureInfo.InvariantCulture),
        _ => value,
    };

    private static bool IsIntegral(IConvertible c) => c.GetTypeCode() is TypeCode.SByte or TypeCode.Byte or TypeCode.Int16
        or TypeCode.UInt16 or TypeCode.Int32 or TypeCode.UInt32 or TypeCode.Int64;

    /// <summary>A field or property read off a config object (<c>config.n_embd</c>, <c>_config.Attn.Heads</c>).</summary>
    private static ConstResult Member(IOperation instance, ISymbol member, ConstScope? scope)
    {
        var inner = Evaluate(instance, scope);
        if (!inner.IsConstant)
        {
            return inner.FailedBinding is { Origin: { } origin } failed
                ? ConstResult.Fail(ConstBinding.NonConstant(failed.Site, failed.Argument, failed.Callee, origin.Member(member.Name).Reason(), origin.Member(member.Name), failed.Reported))
                : inner;
        }

        return inner.Value is ConfigObject config ? FromBinding(config.Get(member)) : ConstResult.Fail();
    }

    internal static ConstResult FromBinding(ConstBinding? binding)
    {
        if (binding is null)
        {
            return ConstResult.Fail();
        }

        return binding.IsConstant ? ConstResult.Of(binding.Value) : ConstResult.Fail(binding);
    }

    private static ConstResult Array(IEnumerable<IOperation> elements, ConstScope? scope)
    {
        var values = new List<long>();
        foreach (var e in elements)
        {
            var r = Evaluate(e, scope);
            if (!r.IsConstant)
            {
                return r;
            }

            if (!TryLong(r.Value, out var l))
            {
                return ConstResult.Fail();
            }

            values.Add(l);
        }

        return ConstResult.Of(values.ToArray());
    }

    public static object? Convert(object? value, ITypeSymbol? type)
    {
        if (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable)
        {
            type = nullable.TypeArguments[0];
        }

        switch (type?.SpecialType)
        {
            case SpecialType.System_Double:
            case SpecialType.System_Single:
            case SpecialType.System_Decimal:
                return TryDouble(value, out var d) ? d : value;
            case SpecialType.System_SByte:
            case SpecialType.System_Byte:
            case SpecialType.System_Int16:
            case SpecialType.System_UInt16:
            case SpecialType.System_Int32:
            case SpecialType.System_UInt32:
            case SpecialType.System_Int64:
            case SpecialType.System_UInt64:
                return value is double x ? (long)x : value;
            default:
                return value;
        }
    }

    private static bool? Compare(BinaryOperatorKind kind, object? left, object? right)
    {
        int order;
        if (left is long a && right is long b)
        {
            order = a.CompareTo(b);
        }
        else if (TryDouble(left, out var x) && TryDouble(right, out var y) && !double.IsNaN(x) && !double.IsNaN(y))
        {
            order = x.CompareTo(y);
        }
        else if (kind is BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals && (left is bool or string or null) && (right is bool or string or null))
        {
            var equal = Equals(left, right);
            return kind == BinaryOperatorKind.Equals ? equal : !equal;
        }
        else
        {
            return null;
        }

        return kind switch
        {
            BinaryOperatorKind.Equals => order == 0,
            BinaryOperatorKind.NotEquals => order != 0,
            BinaryOperatorKind.LessThan => order < 0,
            BinaryOperatorKind.LessThanOrEqual => order <= 0,
            BinaryOperatorKind.GreaterThan => order > 0,
            BinaryOperatorKind.GreaterThanOrEqual => order >= 0,
            _ => null,
        };
    }

    public static ConstResult Arithmetic(BinaryOperatorKind kind, object? left, object? right)
    {
        // Comparisons decide branches on bound values (dropout > 0 ? Dropout(p) : null).
        if (Compare(kind, left, right) is { } compared)
        {
            return ConstResult.Of(compared);
        }

        try
        {
            if (left is long a && right is long b)
            {
                return kind switch
                {
                    BinaryOperatorKind.Add => ConstResult.Of(checked(a + b)),
                    BinaryOperatorKind.Subtract => ConstResult.Of(checked(a - b)),
                    BinaryOperatorKind.Multiply => ConstResult.Of(checked(a * b)),
                    BinaryOperatorKind.Divide when b != 0 => ConstResult.Of(a / b),
                    BinaryOperatorKind.Remainder when b != 0 => ConstResult.Of(a % b),
                    _ => ConstResult.Fail(),
                };
            }

            if (TryDouble(left, out var x) && TryDouble(right, out var y))
            {
                return kind switch
                {
                    BinaryOperatorKind.Add => ConstResult.Of(x + y),
                    BinaryOperatorKind.Subtract => ConstResult.Of(x - y),
                    BinaryOperatorKind.Multiply => ConstResult.Of(x * y),
                    BinaryOperatorKind.Divide => ConstResult.Of(x / y),
                    _ => ConstResult.Fail(),
                };
            }

            if (left is bool p && right is bool q)
            {
                return kind switch
                {
                    BinaryOperatorKind.ConditionalAnd or BinaryOperatorKind.And => ConstResult.Of(p && q),
                    BinaryOperatorKind.ConditionalOr or BinaryOperatorKind.Or => ConstResult.Of(p || q),
                    _ => ConstResult.Fail(),
                };
            }
        }
        catch (OverflowException)
        {
            return ConstResult.Fail();
        }

        return ConstResult.Fail();
    }
}
