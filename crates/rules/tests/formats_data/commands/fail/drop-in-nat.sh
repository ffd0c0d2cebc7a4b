iptables -t nat -A PREROUTING -j DROP
