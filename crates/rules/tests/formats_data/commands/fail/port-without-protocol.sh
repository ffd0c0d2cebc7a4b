sudo iptables -A INPUT --dport 22 -j ACCEPT
