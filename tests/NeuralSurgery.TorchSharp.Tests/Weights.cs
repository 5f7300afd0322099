using System;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>Models as they look after training, for tests that move, verify or tune them.</summary>
internal static class Weights
{
    /// <summary>
    /// Weights and running statistics away from their initial values, as after training: every parameter gets noise,
    /// BatchNorm's running mean moves and its running variance spreads around 1.
    /// </summary>
    public static T Trained<T>(T model)
        where T : nn.Module
    {
        using (torch.no_grad())
        {
            foreach (var p in model.parameters())
            {
                p.add_(torch.randn_like(p) * 0.3);
            }

            foreach (var (name, buffer) in model.named_buffers())
            {
                if (name.EndsWith("running_mean", StringComparison.Ordinal))
                {
                    buffer.add_(torch.randn_like(buffer) * 0.3);
                }
                else if (name.EndsWith("running_var", StringComparison.Ordinal))
                {
                    buffer.copy_(torch.rand_like(buffer) + 0.5);
                }
            }
        }

        return model;
    }
}
