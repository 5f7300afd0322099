using System;
using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace NeuralSurgery.Generator.Reading;

/// <summary>
/// What a symbol (a constructor parameter or a readonly field of a module instance) is bound to while reading:
/// a constant, or "not constant" with where that was decided, so a size that depends on it is reported there.
/// </summary>
internal sealed class ConstBinding
{
    private ConstBinding(bool isConstant, object? value, SyntaxNode? site, string? argument, string? callee)
    {
        IsConstant = isConstant;
        Value = value;
        Site = site;
        Argument = argument;
        Callee = callee;
    }

    public bool IsConstant { get; }

    /// <summary>long, double, bool, string, long[] or null.</summary>
    public object? Value { get; }

    /// <summary>The argument that made it non-constant (e.g. <c>hidden</c> in <c>new Block(hidden)</c>), or null.</summary>
    public SyntaxNode? Site { get; }

    public string? Argument { get; }

    public string? Callee { get; }

    public static ConstBinding Of(object? value) => new(true, value, null, null, null);

    /// <summary>Not constant; a use reports NS1003 at the use, unless <paramref name="site"/> names where it came from.</summary>
    public static ConstBinding NonConstant(SyntaxNode? site = null, string? argument = null, string? callee = null) =>
        new(false, null, site, argument, callee);
}

/// <summary>The constructor parameters and readonly fields of one module instance.</summary>
internal sealed class ConstScope
{
    private readonly Dictionary<ISymbol, ConstBinding> _bindings;

    public ConstScope()
        : this(new Dictionary<ISymbol, ConstBinding>(SymbolEqualityComparer.Default))
    {
    }

    private ConstScope(Dictionary<ISymbol, ConstBinding> bindings) => _bindings = bindings;

    public void Set(ISymbol symbol, ConstBinding binding) => _bindings[symbol] = binding;

    public ConstBinding? Get(ISymbol symbol) => _bindings.TryGetValue(symbol, out var b) ? b : null;

    public ConstScope Clone() => new(new Dictionary<ISymbol, ConstBinding>(_bindings, SymbolEqualityComparer.Default));
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
/// created with constant arguments, readonly fields assigned constants). Values are normalised to long, double,
/// bool, string, long[] or null.
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

            case IFieldReferenceOperation f when !f.Field.IsStatic && f.Instance is IInstanceReferenceOperation:
                return FromBinding(scope?.Get(f.Field));

            case IDefaultValueOperation:
                return ConstResult.Of(null);

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

                var right = Evaluate(b.RightOperand, scope);
                return right.IsConstant ? Arithmetic(b.OperatorKind, left.Value, right.Value) : right;
            }

            case IArrayCreationOperation { Initializer: { } init }:
                return Array(init.ElementValues, scope);

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

    private static ConstResult FromBinding(ConstBinding? binding)
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

    public static ConstResult Arithmetic(BinaryOperatorKind kind, object? left, object? right)
    {
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
