iptables -N A
iptables -P A DROP
