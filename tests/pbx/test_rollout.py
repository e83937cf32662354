"""The order of PBX restarts for a change a reload cannot apply (core/rollout.py)."""

from samu_operator.core.rollout import Action, PbxPod, next_step

ORDER = ["a", "b", "c"]
NEW = {"a": "new", "b": "new", "c": "new"}


def pods(active="a", revisions=None, ready=None, missing=()):
    revisions = revisions or {}
    ready = ready or {}
    return [
        PbxPod(
            z,
            None if z in missing else f"pbx-{z}-0",
            revisions.get(z, "old"),
            ready.get(z, True),
            z == active,
        )
        for z in ORDER
    ]


def test_nothing_to_do_when_every_pbx_runs_the_wanted_revision():
    assert next_step(pods(revisions=NEW), NEW, ORDER, False).action == Action.NONE


def test_standbys_first_least_preferred_first_never_the_active():
    step = next_step(pods(), NEW, ORDER, False)
    assert (step.action, step.pod) == (Action.RESTART, "pbx-c-0")
    step = next_step(pods(revisions={"c": "new"}), NEW, ORDER, False)
    assert (step.action, step.pod) == (Action.RESTART, "pbx-b-0")


def test_one_at_a_time():
    step = next_step(pods(revisions={"c": "new"}, ready={"c": False}), NEW, ORDER, False)
    assert step.action == Action.WAIT  # c is restarting: b waits
    step = next_step(pods(revisions={"c": "new"}, missing=("c",)), NEW, ORDER, False)
    assert step.action == Action.WAIT


def test_an_outdated_standby_that_serves_nothing_is_restarted_at_once():
    step = next_step(pods(ready={"b": False}), NEW, ORDER, False)
    assert (step.action, step.pod) == (Action.RESTART, "pbx-b-0")


def test_the_active_moves_by_a_planned_switchover_before_its_restart():
    only_active = pods(revisions={"b": "new", "c": "new"})
    step = next_step(only_active, NEW, ORDER, False)
    assert (step.action, step.zone) == (Action.SWITCHOVER, "b")  # the most preferred standby
    assert next_step(only_active, NEW, ORDER, True).action == Action.WAIT  # in progress
    # After the switchover, the old active is an outdated standby: restarted.
    after = pods(active="b", revisions={"b": "new", "c": "new"})
    assert next_step(after, NEW, ORDER, False).pod == "pbx-a-0"


def test_no_switchover_to_a_standby_not_updated_or_not_ready():
    step = next_step(
        pods(revisions={"b": "new", "c": "new"}, ready={"b": False, "c": False}), NEW, ORDER, False
    )
    assert step.action == Action.WAIT
    # The active PBX itself is never restarted, whatever the facts.
    for active in ORDER:
        for switchover in (False, True):
            step = next_step(pods(active=active), NEW, ORDER, switchover)
            assert step.pod != f"pbx-{active}-0" or step.action != Action.RESTART
