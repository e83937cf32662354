"""The simulated cluster: the Kubernetes API emulator (kmock subclass, ``emulator`` and
``kmock_speedup``), a kubelet and StatefulSet controller playing the cluster's part
(``kubelet``), the zone-loss drill run on them (``drill``) and the double-active audit over the
emulator's object history (``audit``).

Tests, benchmarks and ``samuctl drill`` use it; the operator itself never imports it (an
import-linter contract keeps it so).
"""
