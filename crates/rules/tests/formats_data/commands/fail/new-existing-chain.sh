iptables -N A
iptables -N A
