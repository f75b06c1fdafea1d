"""The fleet: many pairs at many sites, probed where they live (over SSH), judged one by one
by the one audit, recorded in one history store, summed up in one report, and alerted on."""
