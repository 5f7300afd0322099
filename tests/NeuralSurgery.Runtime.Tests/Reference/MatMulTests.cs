using System;
using NeuralSurgery.Runtime.Reference.Kernels;

namespace NeuralSurgery.Runtime.Tests.Reference;

public class MatMulTests
{
    /// <summary>Seeded random sizes, odd ones and ones across the 6×16 tile, 256 K block and parallel threshold.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void Every_variant_matches_a_naive_triple_loop(int seed)
    {
        var rng = new Random(seed);
        for (var trial = 0; trial < 12; trial++)
        {
            var big = trial % 4 == 0;
            int m = 1 + rng.Next(big ? 200 : 40), n = 1 + rng.Next(big ? 150 : 40), k = 1 + rng.Next(big ? 600 : 40);
            var ta = rng.Next(2) == 0;
            var tb = rng.Next(2) == 0;
            var accumulate = rng.Next(3) == 0;
            var a = Random(rng, m * k);
            var b = Random(rng, k * n);
            var c = Random(rng, m * n);
            var expected = (float[])c.Clone();
            for (var i = 0; i < m; i++)
            {
                for (var j = 0; j < n; j++)
                {
                    double sum = 0;
                    for (var p = 0; p < k; p++)
                    {
                        sum += (double)(ta ? a[(p * m) + i] : a[(i * k) + p]) * (tb ? b[(j * k) + p] : b[(p * n) + j]);
                    }

                    expected[(i * n) + j] = (float)(accumulate ? expected[(i * n) + j] + sum : sum);
                }
            }

            MatMul.Multiply(a, b, c, m, n, k, ta, tb, accumulate);
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.True(
                    Math.Abs(expected[i] - c[i]) <= 1e-4 * Math.Sqrt(k) * 4,
                    $"m {m} n {n} k {k} transposeA {ta} transposeB {tb} accumulate {accumulate}: element {i} is {c[i]}, expected {expected[i]}");
            }
        }
    }

    [Fact]
    public void Zero_inner_size_clears_or_keeps_the_output()
    {
        var c = new float[] { 1, 2, 3, 4 };
        MatMul.Multiply([], [], c, 2, 2, 0, accumulate: true);
        Assert.Equal([1, 2, 3, 4], c);
        MatMul.Multiply([], [], c, 2, 2, 0);
        Assert.Equal([0, 0, 0, 0], c);
    }

    [Fact]
    public void Short_buffers_are_refused_with_the_expected_size()
    {
        var ex = Assert.Throws<ArgumentException>(() => MatMul.Multiply(new float[5], new float[6], new float[4], 2, 2, 3));
        Assert.Contains("Matrix A has 5 elements; expected at least 6", ex.Message);
    }

    private static float[] Random(Random rng, int count)
    {
        var data = new float[count];
        for (var i = 0; i < count; i++)
        {
            data[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return data;
    }
}
