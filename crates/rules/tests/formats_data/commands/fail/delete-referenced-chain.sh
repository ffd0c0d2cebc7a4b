iptables -N A
iptables -A INPUT -j A
iptables -X A
