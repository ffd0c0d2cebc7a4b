iptables -t nat -A PREROUTING -j MASQUERADE
