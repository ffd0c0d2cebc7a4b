iptables -N A
iptables -A INPUT -j A
iptables -A INPUT -j B
