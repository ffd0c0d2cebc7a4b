iptables -E INPUT IN
