iptables -A INPUT -j ACCEPT
iptables -A INPUT -p tcp -j DNAT --to-destination 1.2.3.4
