"""`zkr bench compare`: the same load against Apache ZooKeeper 3.8 and our server, side by side.

Modules: `protocol` (request frames and expected reply sizes), `workloads` (what each workload
sends), `loadgen` (pipelined worker processes that check every reply), `fanout` and `connect`
(the two workloads that are not request streams), `physical` (fsync and loopback floors),
`procstat` (server CPU and RSS from /proc), `servers` (launching both from one zoo.cfg),
`compare` (rounds, aggregation), `report` (table, JSON, plot).
"""
