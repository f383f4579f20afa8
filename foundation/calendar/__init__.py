"""China's official working-day calendar (法定节假日与调休) that every deadline in working days is counted on."""
