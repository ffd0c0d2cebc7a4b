iptables -A INPUT -p tcp --dprt 80 -j ACCEPT
