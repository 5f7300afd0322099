using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Runtime.Tuning;
using PolicyEvolution.Models;

namespace PolicyEvolution;

/// <summary>
/// The elements v3 may tune to learn the new action without touching what v1 learned (paper 000 section 3.2:
/// change only the parameters the task needs):
/// <list type="bullet">
/// <item>the hero encoder's columns that read the new hero features (the generated mirror's interaction map says
/// which), and sven's embedding row: both are multiplied by zero on every state v1 knew;</item>
/// <item>the input side of the LSTM units v3 added (their rows in <c>weight_ih_l0</c> and the biases; the plan
/// initialised them): they reach the old actions only through head columns that stay frozen at zero;</item>
/// <item>the head's new <c>cast</c> row.</item>
/// </list>
/// So the logits of the old actions on the old states cannot move, whatever the tuning does.
/// </summary>
public static class NewFeatureMask
{
    public static readonly string[] NewHeroFeatures = ["mana", "max_mana", "spell_ready"];

    private static readonly string[] NewUnitInputs = ["lstm.weight_ih_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0"];

    public static ParameterMask For(PolicyV3 model)
    {
        var map = PolicyV3.Mirror.Trace();
        var mask = new ParameterMask(model.named_parameters().Select(p => new KeyValuePair<string, long>(p.name, p.parameter.NumberOfElements)));
        MaskSources.AddInteractions(mask, map, NewHeroFeatures.SelectMany(f => map.InteractionsOf("hero", f)).Where(p => p.Parameter == "hero_encoder.weight"));
        MaskSources.AddInteractions(mask, map, map.InteractionsOf("hero_id", "sven").Where(p => p.Parameter == "hero_embedding.weight"));

        var initialised = MaskSources.FromPlanInitialised(PolicyV3.SurgeryFromPolicyV2.Plan);
        foreach (var name in NewUnitInputs)
        {
            foreach (var index in initialised.Indices(name))
            {
                mask[name, index] = true;
            }
        }

        // The head row of the new action: weight row 3 and bias 3 of action_head [4, hidden].
        var hidden = model.named_parameters().Single(p => p.name == "action_head.weight").parameter.shape[1];
        mask.SetRange("action_head.weight", GameTask.Cast * hidden, hidden, true);
        mask.SetRange("action_head.bias", GameTask.Cast, 1, true);
        return mask;
    }
}
