// Each test runs real builds; two at once on a 2-core machine only slow each other (and the other test assemblies).
[assembly: CollectionBehavior(DisableTestParallelization = true)]
