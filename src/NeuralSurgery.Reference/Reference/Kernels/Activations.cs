using System;
using System.Numerics.Tensors;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Runtime.Reference.Kernels;

/// <summary>
/// Elementwise activations with PyTorch's formulas and defaults (the IR carries no attributes for them, so the
/// torch.nn defaults apply): GELU in the exact erf form, LeakyReLU slope 0.01, ELU alpha 1, Softplus beta 1 and
/// threshold 20. Derivatives follow PyTorch's backward formulas, including the choice at kinks (ReLU and
/// LeakyReLU take the x &lt;= 0 branch at 0).
/// </summary>
internal static class Activations
{
    public const float LeakyReluSlope = 0.01f;
    public const float EluAlpha = 1f;
    public const float SoftplusBeta = 1f;
    public const float SoftplusThreshold = 20f;

    public static void Forward(ActivationKind kind, ReadOnlySpan<float> x, Span<float> y)
    {
        switch (kind)
        {
            case ActivationKind.Identity:
                x.CopyTo(y);
                break;
            case ActivationKind.Relu:
                TensorPrimitives.Max(x, 0f, y);
                break;
            case ActivationKind.Tanh:
                TensorPrimitives.Tanh(x, y);

                // The vectorised tanh returns about 6e-8 for an exact 0 on some lengths; tanh(0) is 0, and gradient
                // mapping reads any non-zero as an interaction (an all-zero input must stay all zero).
                for (var i = 0; i < x.Length; i++)
                {
                    if (x[i] == 0)
                    {
                        y[i] = x[i];
                    }
                }

                break;
            case ActivationKind.Sigmoid:
                TensorPrimitives.Sigmoid(x, y);
                break;
            case ActivationKind.Gelu:
                for (var i = 0; i < x.Length; i++)
                {
                    double v = x[i];
                    y[i] = (float)(0.5 * v * (1 + Erf(v / Math.Sqrt(2))));
                }

                break;
            case ActivationKind.Silu:
                TensorPrimitives.Sigmoid(x, y);
                TensorPrimitives.Multiply(x, y, y);
                break;
            case ActivationKind.Elu:
                for (var i = 0; i < x.Length; i++)
                {
                    y[i] = x[i] > 0 ? x[i] : EluAlpha * (MathF.Exp(x[i]) - 1);
                }

                break;
            case ActivationKind.LeakyRelu:
                for (var i = 0; i < x.Length; i++)
                {
                    y[i] = x[i] > 0 ? x[i] : x[i] * LeakyReluSlope;
                }

                break;
            case ActivationKind.Softplus:
                for (var i = 0; i < x.Length; i++)
                {
                    var bx = x[i] * SoftplusBeta;
                    y[i] = bx > SoftplusThreshold ? x[i] : (float)(Math.Log(1 + Math.Exp(bx)) / SoftplusBeta);
                }

                break;
            case ActivationKind.Exp:
                TensorPrimitives.Exp(x, y);
                break;
            case ActivationKind.Abs:
                TensorPrimitives.Abs(x, y);
                break;
            case ActivationKind.Neg:
                TensorPrimitives.Negate(x, y);
                break;
            case ActivationKind.Square:
                TensorPrimitives.Multiply(x, x, y);
                break;
            case ActivationKind.Sin:
                for (var i = 0; i < x.Length; i++)
                {
                    y[i] = MathF.Sin(x[i]);
                }

                break;
            case ActivationKind.Cos:
                for (var i = 0; i < x.Length; i++)
                {
                    y[i] = MathF.Cos(x[i]);
                }

                break;
            case ActivationKind.Sqrt:
                TensorPrimitives.Sqrt(x, y);
                break;
            case ActivationKind.Rsqrt:
                TensorPrimitives.ReciprocalSqrt(x, y);
                break;
            case ActivationKind.Log:
                TensorPrimitives.Log(x, y);
                break;
            default:
                throw new ReferenceExecutionException($"activation '{kind}' has no reference kernel; expected one of {string.Join(", ", Enum.GetNames<ActivationKind>())}");
        }
    }

    /// <summary>dx = dy · f'(x); <paramref name="y"/> is the forward output (used where the derivative is cheaper from it).</summary>
    public static void Backward(ActivationKind kind, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        switch (kind)
        {
            case ActivationKind.Identity:
                dy.CopyTo(dx);
                break;
            case ActivationKind.Relu:
                for (var i = 0; i < x.Length; i++)
                {
                    dx[i] = x[i] > 0 ? dy[i] : 0f;
                }

                break;
            case ActivationKind.Tanh:
                for (var i = 0; i < x.Length; i++)
                {
                    dx[i] = dy[i] * (1 - (y[i] * y[i]));
                }

                break;
            case ActivationKind.Sigmoid:
                for (var i = 0; i < x.Length; i++)
                {
                    dx[i] = dy[i] * y[i] * (1 - y[i]);
                }

                break;
            case ActivationKind.Gelu:
                // d/dx x·Φ(x) = Φ(x) + x·φ(x).
                for (var i = 0; i < x.Length; i++)
                {
                    double v = x[i];
                    var cdf = 0.5 * (1 + Erf(v / Math.Sqrt(2)));
                    var pdf = Math.Exp(-0.5 * v * v) / Math.Sqrt(2 * Math.PI);
                    dx[i] = (float)(dy[i] * (cdf + (v * pdf)));
                }

                break;
            case ActivationKind.Silu:
                for (var i = 0; i < x.Length; i++)
                {
                    var s = 1f / (1f + MathF.Exp(-x[i]));
                    dx[i] = dy[i] * s * (1 + (x[i] * (1 - s)));
                }

                break;
            case ActivationKind.Elu:
                for (var i = 0; i < x.Length; i++)
                {
                    dx[i] = x[i] > 0 ? dy[i] : dy[i] * EluAlpha * MathF.Exp(x[i]);
                }

                break;
            case ActivationKind.LeakyRelu:
                for (var i = 0; i < x.Length; i++)
                {
                    dx[i] = x[i] > 0 ? dy[i] : dy[i] * LeakyReluSlope;
                }

                break;
            case ActivationKind.Softplus:
                for (var i = 0; i < x.Length; i++)
                {
                    var bx = x[i] * SoftplusBeta;
                    if (bx > SoftplusThreshold)
                    {
                        dx[i] = dy[i];
                    }
                    else
                    {
                        var z = Math.Exp(bx);
                        dx[i] = (float)(dy[i] * z / (z + 1));
                    }
                }

                break;
            case ActivationKind.Exp:
                TensorPrimitives.Multiply(dy, y, dx);
                break;
            case ActivationKind.Abs:
                // PyTorch's sign: 0 at 0.
                for (var i = 0; i < x.Length; i++)
                {
                    dx[i] = x[i] > 0 ? dy[i] : x[i] < 0 ? -dy[i] : 0f;
                }

                break;
            case ActivationKind.Neg:
                TensorPrimitives.Negate(dy, dx);
                break;
            case ActivationKind.Square:
                for (var i = 0; i < x.Length; i++)
                {
                    dx[i] = dy[i] * 2 * x[i];
                }

                break;
            case ActivationKind.Sin:
                for (var i = 0; i < x.Length; i++)
                {
                    dx[i] = dy[i] * MathF.Cos(x[i]);
                }

                break;
            case ActivationKind.Cos:
                for (var i = 0; i < x.Length; i++)
                {
                    dx[i] = -dy[i] * MathF.Sin(x[i]);
                }

                break;
            case ActivationKind.Sqrt:
                // (√x)' = 1 / (2√x).
                for (var i = 0; i < x.Length; i++)
                {
                    dx[i] = dy[i] * 0.5f / y[i];
                }

                break;
            case ActivationKind.Rsqrt:
                // (x^−½)' = −½ x^−3/2 = −½ y³.
                for (var i = 0; i < x.Length; i++)
                {
                    dx[i] = dy[i] * -0.5f * y[i] * y[i] * y[i];
                }

                break;
            case ActivationKind.Log:
                TensorPrimitives.Divide(dy, x, dx);
                break;
            default:
                throw new ReferenceExecutionException($"activation '{kind}' has no reference kernel; expected one of {string.Join(", ", Enum.GetNames<ActivationKind>())}");
        }
    }

    /// <summary>
    /// erf through erfc's Chebyshev-fitted exponential form (Numerical Recipes, erfcc): fractional error below
    /// 1.2e-7 everywhere, under float32's resolution; .NET has no Math.Erf.
    /// </summary>
    public static double Erf(double x)
    {
        var z = Math.Abs(x);
        var t = 1.0 / (1.0 + (0.5 * z));
        var poly = -0.82215223 + (t * 0.17087277);
        poly = 1.48851587 + (t * poly);
        poly = -1.13520398 + (t * poly);
        poly = 0.27886807 + (t * poly);
        poly = -0.18628806 + (t * poly);
        poly = 0.09678418 + (t * poly);
        poly = 0.37409196 + (t * poly);
        poly = 1.00002368 + (t * poly);
        poly = -1.26551223 + (t * poly);
        var erfc = t * Math.Exp((-z * z) + poly);
        return x >= 0 ? 1 - erfc : erfc - 1;
    }
}
