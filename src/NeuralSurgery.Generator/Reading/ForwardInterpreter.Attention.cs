using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Generator.Reading;

/// <summary>
/// MultiheadAttention, TransformerEncoderLayer and TransformerEncoder calls, built from graph ops the way PyTorch's
/// multi_head_attention_forward and libtorch's post-norm encoder layer compute them. All are sequence first
/// (<c>[T, B, E]</c>), as TorchSharp's native modules are.
/// </summary>
internal sealed partial class ForwardInterpreter
{
    /// <summary>
    /// mha.call(query, key, value, key_padding_mask, need_weights, attn_mask): the (output, weights) tuple, weights
    /// averaged over the heads when need_weights, else null.
    /// </summary>
    private Value CallAttention(AttentionNode node, IReadOnlyList<Value> args, SyntaxNode site, Frame f)
    {
        if (args.Count < 3)
        {
            return Unsupported(site, "call", f.Where, "MultiheadAttention takes query, key and value");
        }

        if (args.Count > 4 && args[4] is not ConstValue { Value: bool })
        {
            return Unsupported(site, "call", f.Where, "MultiheadAttention: need_weights must be true or false at build time");
        }

        var needWeights = args.Count <= 4 || args[4] is ConstValue { Value: true };
        var q = Tensor(args[0], site, f);
        var k = Tensor(args[1], site, f);
        var v = Tensor(args[2], site, f);
        if (q is not { } query || k is not { } key || v is not { } value
            || !Masks(args.Count > 5 ? args[5] : ConstValue.Null, args.Count > 3 ? args[3] : ConstValue.Null, query, key, node.Kind, site, f, out var mask))
        {
            return Poison;
        }

        GraphValue weights = default;
        var output = Build(site, () => Attend(node, query, key, value, mask, out weights));
        return output is TensorValue
            ? new TupleValue(ImmutableArray.Create(output, needWeights ? new TensorValue(_b.Mean(weights, 1)) : ConstValue.Null))
            : Poison;
    }

    /// <summary>encoder.call(src, src_mask, src_key_padding_mask): each layer in turn, with the same mask.</summary>
    private Value CallEncoder(IReadOnlyList<EncoderLayerNode> layers, string kind, IReadOnlyList<Value> args, SyntaxNode site, Frame f)
    {
        if (args.Count is < 1 or > 3)
        {
            return Unsupported(site, "call", f.Where, $"{kind} takes src, and optionally src_mask and src_key_padding_mask");
        }

        if (Tensor(args[0], site, f) is not { } src
            || !Masks(args.Count > 1 ? args[1] : ConstValue.Null, args.Count > 2 ? args[2] : ConstValue.Null, src, src, kind, site, f, out var mask))
        {
            return Poison;
        }

        return Build(site, () =>
        {
            var x = src;
            foreach (var layer in layers)
            {
                var attended = Attend(layer.Attention, x, x, x, mask, out _);
                x = _b.Call(layer.Norm1.Path, _b.Add(x, _b.Dropout(attended, layer.Dropout)))[0];
                var hidden = _b.Dropout(_b.Activation(_b.Call(layer.Linear1.Path, x)[0], layer.Activation), layer.Dropout);
                x = _b.Call(layer.Norm2.Path, _b.Add(x, _b.Dropout(_b.Call(layer.Linear2.Path, hidden)[0], layer.Dropout)))[0];
            }

            return x;
        });
    }

    /// <summary>
    /// The additive attention mask, [T, S] (broadcast over batch and heads). A forward parameter without a schema
    /// entry becomes a state input of that shape on the next pass: data the mirror does not see, as the values of
    /// a mask only weigh positions, never features. Key padding masks are refused: they fill with -inf per batch
    /// element, which no graph op computes.
    /// </summary>
    private bool Masks(Value attnMask, Value keyPadding, GraphValue query, GraphValue key, string kind, SyntaxNode site, Frame f, out GraphValue? mask)
    {
        mask = null;
        if (query.Shape.Rank != 3 || key.Shape.Rank != 3)
        {
            Unsupported(site, "call", f.Where, $"{kind}: the reader follows batched, sequence-first inputs [T, B, E]; got {query.Shape}");
            return false;
        }

        if (keyPadding is not ConstValue { Value: null })
        {
            Unsupported(site, "call", f.Where, $"{kind}: a key padding mask is not followed (it fills masked keys with -inf per batch element); pass null and mask through attn_mask");
            return false;
        }

        var expected = Shape.Of(query.Shape[0], key.Shape[0]);
        switch (attnMask)
        {
            case ConstValue { Value: null }:
                return true;
            case PendingValue p:
                if (!DiscoveredStates.ContainsKey(p.Parameter.Name))
                {
                    DiscoveredStates.Add(p.Parameter.Name, (expected, InputRole.State));
                }

                return false;
            case TensorValue t when t.GraphValue.Shape.Rank == 2:
                mask = t.GraphValue;
                return true;
            case TensorValue t:
                Unsupported(site, "call", f.Where, $"{kind}: the reader follows an additive attention mask of shape [T, S] ({expected}); got {t.GraphValue.Shape}");
                return false;
            default:
                Tensor(attnMask, site, f);
                return false;
        }
    }

    /// <summary>
    /// PyTorch's multi_head_attention_forward with packed projections: q, k, v = in_proj; heads [B, H, T, d];
    /// softmax(q·kᵀ / √d + mask) over the keys, dropout on the weights; their product with v, heads joined back to
    /// [T, B, E]; out_proj. <paramref name="weights"/> are the per-head weights [B, H, T, S].
    /// </summary>
    private GraphValue Attend(AttentionNode node, GraphValue query, GraphValue key, GraphValue value, GraphValue? mask, out GraphValue weights)
    {
        var spec = node.Spec;
        var projected = _b.Call(node.Projection.Path, query, key, value);
        GraphValue Heads(GraphValue x) =>
            _b.Permute(_b.Reshape(x, x.Shape[0], x.Shape[1], Dim.Of(spec.NumHeads), Dim.Of(spec.HeadDim)), 1, 2, 0, 3);

        var scores = _b.Scale(_b.MatMul(Heads(projected[0]), _b.Transpose(Heads(projected[1]), 2, 3)), 1 / Math.Sqrt(spec.HeadDim));
        if (mask is { } m)
        {
            scores = _b.Add(scores, m);
        }

        weights = _b.Dropout(_b.Softmax(scores, 3), node.Dropout);
        var joined = _b.Reshape(_b.Permute(_b.MatMul(weights, Heads(projected[2])), 2, 0, 1, 3), query.Shape[0], query.Shape[1], Dim.Of(spec.EmbedDim));
        return _b.Call(node.OutProjection.Path, joined)[0];
    }
}
