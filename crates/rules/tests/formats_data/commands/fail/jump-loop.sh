iptables -N A
iptables -N B
iptables -A INPUT -j A
iptables -A A -j B
iptables -A B -j A
