"""The pair's live state from the appliances' own health API (command API check_health).

Import from the modules (this package imports nothing, so the inventory loader can use
`auditor.inventory.healthspec` without a cycle):

    clients = pair.make_clients(inventory, timeout=5)   # reads secrets and CA files (InputError)
    state = pair.ask_pair(inventory, timeout=5, clients=clients)
    verdict = judge.judge(inventory, state, now=state.asked_at)
    live = render.live_state(inventory, state, verdict)  # what the run carries (typed)
"""
