iptables -A INPUT -j ACCEPT
iptables -A NOPE -j ACCEPT
iptables -A INPUT -j DROP
