"""Vendor firewall policies (PAN-OS first; FortiOS and Cisco ASA readers can follow): one small
vendor-neutral model (`model`: zones, objects, services, ordered rules, defaults, routes, NAT)
and one evaluator over it (`judge`); each vendor's reader builds the model from its
configuration."""
