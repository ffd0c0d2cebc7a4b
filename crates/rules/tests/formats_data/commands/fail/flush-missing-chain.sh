iptables -F NOPE
