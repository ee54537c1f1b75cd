import Sockit
