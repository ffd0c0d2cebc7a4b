iptables -A INPUT -s 1.2.3.4 -j ACCEPT
iptables -D INPUT -s 1.2.3.5 -j ACCEPT
