"""The capacity, latency and cost planner: `devtools simulate` and `devtools cost`.

A development tool (it runs the Pulumi program under mocks): nothing in the worker or the
scanner imports it. `stackmodel` and `services` read the program's resources, `load` the scans
and the benchmark, `sim` (with `fleet`, `metrics`, `cloudwatch`, `alarms`, `metricmath`) runs
the day, `report` sums it up, and `cost` (with `inventory`, `prices.json`, `live`) prices it.
"""
