iptables -N A
iptables -A A -j ACCEPT
iptables -X A
