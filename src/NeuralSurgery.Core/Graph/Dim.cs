using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using NeuralSurgery.Collections;

namespace NeuralSurgery.Graph;

/// <summary>One symbolic term of a <see cref="Dim"/>: <c>Coefficient * Symbol</c>.</summary>
public sealed record DimTerm(string Symbol, long Coefficient);

/// <summary>
/// A dimension size: a constant, or a linear form over symbols such as the batch size <c>B</c> or a set
/// size <c>N</c> that only the data knows. Linear forms are closed under concat (sums) and flatten with
/// a constant factor, which is all the IR needs; the tracers instantiate symbols with small sizes.
/// </summary>
public sealed record Dim
{
    /// <summary>The conventional batch symbol.</summary>
    public const string BatchSymbol = "B";

    private Dim(long constant, EquatableArray<DimTerm> terms)
    {
        Constant = constant;
        Terms = terms;
    }

    public long Constant { get; }

    /// <summary>Symbolic terms sorted by symbol, no zero coefficients.</summary>
    public EquatableArray<DimTerm> Terms { get; }

    public static Dim Batch { get; } = Symbol(BatchSymbol);

    public bool IsConstant => Terms.IsEmpty;

    /// <summary>The constant value; throws for a symbolic dimension.</summary>
    public long Value => IsConstant
        ? Constant
        : throw new InvalidOperationException($"dimension '{this}' is symbolic, not a constant");

    public static Dim Of(long value) => new(value, EquatableArray<DimTerm>.Empty);

    public static Dim Symbol(string name)
    {
        if (!IsIdentifier(name))
        {
            throw new ArgumentException($"'{name}' is not a valid dimension symbol; expected letters, digits and '_'", nameof(name));
        }

        return new Dim(0, EquatableArray.Create(new DimTerm(name, 1)));
    }

    public static implicit operator Dim(long value) => Of(value);

    public static Dim operator +(Dim left, Dim right)
    {
        var terms = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var t in left.Terms.Concat(right.Terms))
        {
            terms.TryGetValue(t.Symbol, out var c);
            terms[t.Symbol] = c + t.Coefficient;
        }

        return new Dim(
            left.Constant + right.Constant,
            terms.Where(kv => kv.Value != 0).Select(kv => new DimTerm(kv.Key, kv.Value)).ToEquatableArray());
    }

    public static Dim operator -(Dim left, Dim right) => left + (right * -1);

    public static Dim operator *(Dim left, long factor) =>
        factor == 0
            ? Of(0)
            : new Dim(left.Constant * factor, left.Terms.Select(t => new DimTerm(t.Symbol, t.Coefficient * factor)).ToEquatableArray());

    /// <summary>Whether this is a single symbol with coefficient 1 and no constant part.</summary>
    public bool IsPlainSymbol => Constant == 0 && Terms.Count == 1 && Terms[0].Coefficient == 1;

    /// <summary>Evaluates the form with concrete symbol sizes.</summary>
    public long Evaluate(Func<string, long> symbolSize)
    {
        var value = Constant;
        foreach (var t in Terms)
        {
            value += t.Coefficient * symbolSize(t.Symbol);
        }

        return value;
    }

    public override string ToString()
    {
        if (IsConstant)
        {
            return Constant.ToString(CultureInfo.InvariantCulture);
        }

        var sb = new StringBuilder();
        foreach (var t in Terms)
        {
            if (sb.Length > 0)
            {
                sb.Append(t.Coefficient < 0 ? "-" : "+");
            }
            else if (t.Coefficient < 0)
            {
                sb.Append('-');
            }

            var c = Math.Abs(t.Coefficient);
            if (c != 1)
            {
                sb.Append(c.ToString(CultureInfo.InvariantCulture)).Append('*');
            }

            sb.Append(t.Symbol);
        }

        if (Constant != 0)
        {
            sb.Append(Constant < 0 ? "-" : "+").Append(Math.Abs(Constant).ToString(CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    /// <summary>Parses what <see cref="ToString"/> writes: <c>64</c>, <c>B</c>, <c>2*N+4</c>, <c>-1</c>.</summary>
    public static bool TryParse(string text, out Dim? dim)
    {
        dim = null;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var result = Of(0);
        var i = 0;
        while (i < text.Length)
        {
            var sign = 1L;
            if (text[i] == '+' || text[i] == '-')
            {
                if (text[i] == '-')
                {
                    sign = -1;
                }

                i++;
            }
            else if (i > 0)
            {
                return false;
            }

            var start = i;
            while (i < text.Length && text[i] != '+' && text[i] != '-')
            {
                i++;
            }

            var term = text.Substring(start, i - start);
            if (term.Length == 0)
            {
                return false;
            }

            var star = term.IndexOf('*');
            if (star >= 0)
            {
                if (!long.TryParse(term.Substring(0, star), NumberStyles.None, CultureInfo.InvariantCulture, out var coef)
                    || !IsIdentifier(term.Substring(star + 1)))
                {
                    return false;
                }

                result += Symbol(term.Substring(star + 1)) * (sign * coef);
            }
            else if (long.TryParse(term, NumberStyles.None, CultureInfo.InvariantCulture, out var constant))
            {
                result += Of(sign * constant);
            }
            else if (IsIdentifier(term))
            {
                result += Symbol(term) * sign;
            }
            else
            {
                return false;
            }
        }

        dim = result;
        return true;
    }

    internal static bool IsIdentifier(string name)
    {
        if (string.IsNullOrEmpty(name) || char.IsDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }
}
